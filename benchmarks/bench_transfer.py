"""Colour transfer speed: tinct.match against color-matcher and python-color-transfer.

Baselines run in the same process on the same images, so the printed ratios are comparable
even on a busy machine (absolute seconds are not).

* 12 MP pair (4000 x 3000): scikit-image's ``astronaut`` (source) and ``coffee`` (reference),
  upscaled bicubically. Timed (a) the transfer alone on arrays already in memory, (b) the whole
  process as each tool's own command line would run it: read both PNGs, transfer, write a PNG
  (color-matcher: its ``load_img_file``/``save_img_file``, i.e. imageio; tinct: Pillow read and
  write, since ``tinct transfer`` is not wired yet, at Pillow's default PNG compression level 6
  and at level 1 -- encoding a 12 MP PNG at level 6 takes longer than any of our transfers).
* idt + regrain at 512 x 768: tinct against python-color-transfer (``pdf_tranfer`` + ``Regrain``).

Usage::

    python benchmarks/bench_transfer.py              # full run, updates benchmarks/RESULTS.md
    python benchmarks/bench_transfer.py --quick      # 1 MP, no RESULTS.md update (smoke test)

The section between ``<!-- transfer:start -->`` and ``<!-- transfer:end -->`` of RESULTS.md is
replaced; the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import RESULTS, write_section
from PIL import Image

from tinct.match import transfer

CM_METHODS = ("mkl", "hm", "reinhard", "hm-mkl-hm")
TINCT_ONLY = ("mvgd", "reinhard-lab", "hm-mvgd-hm", "idt", "sot")


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _resized(name: str, w: int, h: int) -> np.ndarray:
    import skimage.data

    return np.asarray(Image.fromarray(getattr(skimage.data, name)()).resize((w, h), Image.BICUBIC))


def bench_12mp(w: int, h: int, tmp: Path) -> list[tuple[str, str, float, float | None]]:
    src, ref = _resized("astronaut", w, h), _resized("coffee", w, h)
    src_png, ref_png = tmp / "source.png", tmp / "reference.png"
    Image.fromarray(src).save(src_png, compress_level=1)
    Image.fromarray(ref).save(ref_png, compress_level=1)
    transfer(src[:64, :64], ref[:64, :64])  # warm up imports
    try:
        from color_matcher import ColorMatcher
        from color_matcher.io_handler import load_img_file, save_img_file
    except ImportError:
        ColorMatcher = None  # noqa: N806
        print("color-matcher is not installed: baselines skipped (pip install color-matcher)")
    rows = []
    for method in CM_METHODS + TINCT_ONLY:
        t_ours, _ = _timed(lambda m=method: transfer(src, ref, m))
        t_cm = None
        if ColorMatcher is not None and method in CM_METHODS:
            s_cm, r_cm = load_img_file(str(src_png)), load_img_file(str(ref_png))
            t_cm, _ = _timed(lambda m=method, s=s_cm, r=r_cm: ColorMatcher(src=s, ref=r, method=m).main())
        rows.append(("transfer only", method, t_ours, t_cm))
        print(f"{w}x{h} transfer only  {method:12s} tinct {t_ours:6.2f} s"
              + (f"  color-matcher {t_cm:6.2f} s  ratio {t_cm / t_ours:5.1f}x" if t_cm else ""))
    for method in ("mkl", "hm"):
        t_cm = None
        if ColorMatcher is not None:
            def theirs(m=method):
                s, r = load_img_file(str(src_png)), load_img_file(str(ref_png))
                save_img_file(ColorMatcher(src=s, ref=r, method=m).main(), str(tmp / f"cm_{m}"), "png")

            t_cm, _ = _timed(theirs)
        for level in (6, 1):  # Pillow's default PNG compression, and its fastest
            t_read, (s, r) = _timed(lambda: (np.asarray(Image.open(src_png).convert("RGB")),
                                             np.asarray(Image.open(ref_png).convert("RGB"))))
            t_tr, out = _timed(lambda m=method, s=s, r=r: transfer(s, r, m))
            t_write, _ = _timed(
                lambda out=out, lv=level: Image.fromarray(out).save(tmp / "tinct.png", compress_level=lv))
            t_ours = t_read + t_tr + t_write
            what = f"read + transfer + write PNG (tinct: Pillow, compress_level={level})"
            rows.append((what, method, t_ours, t_cm))
            print(f"{w}x{h} whole process  {method:12s} level {level}: tinct {t_ours:6.2f} s (read {t_read:.2f}, "
                  f"transfer {t_tr:.2f}, write {t_write:.2f})"
                  + (f"  color-matcher {t_cm:6.2f} s  ratio {t_cm / t_ours:5.1f}x" if t_cm else ""))
    return rows


def bench_idt_regrain(w: int = 768, h: int = 512) -> list[tuple[str, str, float, float | None]]:
    src, ref = _resized("astronaut", w, h), _resized("coffee", w, h)
    transfer(src[:64, :64], ref[:64, :64], "idt", regrain=True)
    t_idt, _ = _timed(lambda: transfer(src, ref, "idt"))
    t_both, _ = _timed(lambda: transfer(src, ref, "idt", regrain=True))
    t_pct = t_pct_idt = None
    try:
        from python_color_transfer.color_transfer import ColorTransfer, Regrain

        bgr_s, bgr_r = np.ascontiguousarray(src[..., ::-1]), np.ascontiguousarray(ref[..., ::-1])
        ct = ColorTransfer()
        pdf = getattr(ct, "pdf_transfer", None) or ct.pdf_tranfer  # renamed between releases
        t_pct_idt, out = _timed(lambda: pdf(img_arr_in=bgr_s, img_arr_ref=bgr_r))
        t_rg, _ = _timed(lambda: Regrain().regrain(img_arr_in=bgr_s, img_arr_col=out))
        t_pct = t_pct_idt + t_rg
    except ImportError:
        print("python-color-transfer is not installed: baseline skipped")
    print(f"{w}x{h} idt            tinct {t_idt:6.2f} s"
          + (f"  python-color-transfer {t_pct_idt:6.2f} s" if t_pct else ""))
    print(f"{w}x{h} idt + regrain  tinct {t_both:6.2f} s" + (
        f"  python-color-transfer {t_pct:6.2f} s  ratio {t_pct / t_both:5.1f}x" if t_pct else ""))
    return [("idt", f"{w}x{h}", t_idt, t_pct_idt), ("idt + regrain", f"{w}x{h}", t_both, t_pct)]


def _markdown(rows_12, rows_idt, w, h) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Colour transfer (`tinct.match`)",
        "",
        f"Measured by `benchmarks/bench_transfer.py` on {platform.machine()} with {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}; load average {load:.1f} at the end "
        "(a colorization model was training in the background, so absolute times are slow and noisy; "
        "baselines ran in the same process, so the ratios are the comparable numbers). One run each.",
        "",
        f"### {w} x {h} ({w * h / 1e6:.0f} MP), astronaut recoloured with coffee (both upscaled)",
        "",
        "| what | method | tinct (s) | color-matcher (s) | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for what, method, ours, theirs in rows_12:
        ratio = f"{theirs / ours:.1f}x" if theirs else "-"
        lines.append(f"| {what} | {method} | {ours:.2f} | {theirs:.2f} | {ratio} |" if theirs else
                     f"| {what} | {method} | {ours:.2f} | - | - |")
    lines += [
        "",
        "### idt + regrain, 768 x 512 (against python-color-transfer)",
        "",
        "| what | size | tinct (s) | python-color-transfer (s) | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for what, size, ours, theirs in rows_idt:
        lines.append(f"| {what} | {size} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f}x |" if theirs else
                     f"| {what} | {size} | {ours:.2f} | - | - |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 MP instead of 12 MP; do not touch RESULTS.md")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    w, h = (1200, 900) if args.quick else (4000, 3000)
    with tempfile.TemporaryDirectory() as tmp:
        rows_12 = bench_12mp(w, h, Path(tmp))
    rows_idt = bench_idt_regrain()
    section = _markdown(rows_12, rows_idt, w, h)
    print()
    print(section)
    if not (args.quick or args.no_write):
        write_section("transfer", section)
        print(f"\nwrote the transfer section of {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
