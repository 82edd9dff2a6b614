"""`tinct evaluate`: colorize colour photos made gray and score them against the originals.

For each colour photo: resize so the short side is ``size`` (the field scores at 256),
make the grayscale input (Lab L with a = b = 0), colorize it with each method, and
compute the metrics of :mod:`tinct.metrics` against the original. ``docs/metrics.md``
says exactly how every number is computed.

Methods: ``auto`` (the shipped network, or ``auto:PATH`` for a weight file), ``gray``
(the input itself, ab = 0), ``mean-colour`` (an oracle baseline: every pixel gets the
original's mean ab — it shows what one global colour achieves) and
``transfer:METHOD`` (classical colour transfer from ``--reference``, no training).
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tinct.color.lab import lab_to_rgb, looks_gray, rgb_to_lab
from tinct.colorizer import DEFAULT_BALANCE, DEFAULT_SIZE, DEFAULT_TEMPERATURE
from tinct.io import ImageError, atomic_write, find_images, imread

log = logging.getLogger(__name__)

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (gray uint8 RGB, original) -> RGB uint8
METRIC_KEYS = ("psnr", "ssim", "ciede2000", "colorfulness", "feature_distance")


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """The grayscale input the field uses: Lab L of the photo with a = b = 0, as uint8 RGB."""
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0
    return np.round(lab_to_rgb(lab) * 255).astype(np.uint8)


def _mean_colour(gray: np.ndarray, original: np.ndarray) -> np.ndarray:
    lab = rgb_to_lab(gray)
    lab[..., 1:] = rgb_to_lab(original)[..., 1:].mean(axis=(0, 1))
    return np.round(lab_to_rgb(lab) * 255).astype(np.uint8)


def make_method(name: str, *, reference: np.ndarray | None = None, temperature: float = DEFAULT_TEMPERATURE,
                saturation: float = 1.0, work_size: int = DEFAULT_SIZE, levels: bool = False,
                balance: float = DEFAULT_BALANCE) -> Method:
    """A method by name: auto[:WEIGHTS], gray, mean-colour, transfer:METHOD."""
    if name == "gray":
        return lambda gray, _orig: gray
    if name == "mean-colour":
        return _mean_colour
    if name == "auto" or name.startswith("auto:"):
        from tinct.colorizer import colorize_auto

        model = name.partition(":")[2] or "default"
        return lambda gray, _orig: colorize_auto(gray, model=model, temperature=temperature,
                                                     saturation=saturation, size=work_size, levels=levels,
                                                     balance=balance)
    if name.startswith("transfer:"):
        from tinct.match import METHODS, transfer

        how = name.partition(":")[2]
        if how not in METHODS:
            raise ValueError(f"transfer method must be one of {METHODS}, got {how!r}")
        if reference is None:
            raise ValueError(f"method {name!r} needs --reference PHOTO")
        return lambda gray, _orig: transfer(gray, reference, how)
    raise ValueError(f"unknown method {name!r}: use auto, auto:WEIGHTS, gray, mean-colour or transfer:METHOD")


def load_photos(data: Sequence[str | Path], *, size: int, limit: int | None = None
                ) -> tuple[list[tuple[str, np.ndarray]], list[str], int]:
    """Colour photos under ``data`` (files, folders, ``.txt`` lists of files), short side
    resized to ``size``: their (name, rgb), the read errors, and how many grayscale photos were
    skipped (they have no colours to score against)."""
    photos, errors, grayscale = [], [], 0
    for path in find_images(data):
        if limit and len(photos) >= limit:
            break
        try:
            rgb = imread(path)[..., :3]
        except ImageError as exc:
            errors.append(str(exc))
            continue
        if rgb.dtype == np.uint16:
            rgb = (rgb // 257).astype(np.uint8)
        if looks_gray(rgb):
            grayscale += 1
            continue
        h, w = rgb.shape[:2]
        if size and min(h, w) != size:
            s = size / min(h, w)
            rgb = np.asarray(Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))),
                                                         Image.Resampling.LANCZOS))
        photos.append((str(path), rgb))
    return photos, errors, grayscale


@dataclass
class Evaluation:
    methods: list[str]
    images: list[dict] = field(default_factory=list)  # per image: name, per method metrics
    summary: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


def evaluate(data: Sequence[str | Path], methods: Sequence[str], *, size: int = 256, limit: int | None = None,
             reference: np.ndarray | None = None, thumbs: Path | None = None, progress: bool = False,
             semantic: bool = True, temperature: float = DEFAULT_TEMPERATURE, saturation: float = 1.0,
             work_size: int = DEFAULT_SIZE, bootstrap: int = 1000, baseline: str | None = None,
             levels: bool = False, balance: float = DEFAULT_BALANCE) -> Evaluation:
    """Score ``methods`` on the colour photos under ``data`` (see the module docstring).

    With ``"gray"`` among the methods, ``bootstrap`` > 0 and 2 photos or more, every other
    method's summary gets ``difference_to_gray_95`` (:func:`paired_differences`, ``bootstrap``
    resamples of the photos): its PSNR, AuC and rebalanced AuC minus gray's, with intervals.
    ``baseline`` (one of ``methods``, not gray) adds ``difference_to_baseline_95``, the same
    against that method: e.g. a fine-tuned network against the shipped one, on the same photos.
    """
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be >= 0 (0: no intervals), got {bootstrap}")
    if baseline is not None and baseline not in methods:
        raise ValueError(f"baseline {baseline!r} is not one of the methods {list(methods)}")
    if baseline not in (None, "gray") and bootstrap == 0:
        raise ValueError("a baseline is compared with intervals: it needs bootstrap > 0")
    from tinct import metrics

    if not methods:
        raise ValueError("give at least one method")
    fns = {m: make_method(m, reference=reference, temperature=temperature, saturation=saturation,
                          work_size=work_size, levels=levels, balance=balance) for m in methods}
    photos, errors, grayscale = load_photos(data, size=size, limit=limit)
    if not photos:
        why = [f"{len(errors)} unreadable, the first: {errors[0]}"] if errors else []
        why += [f"{grayscale} grayscale: nothing to score against"] if grayscale else []
        raise ValueError(f"no colour photos found in {', '.join(map(str, data))}"
                         + (f" ({'; '.join(why)})" if why else ""))
    # Rebalanced AuC weights come from the colours of the whole ground-truth set.
    bin_w = metrics.inverse_frequency_weights(metrics.count_ab_bins([p for _, p in photos]))
    curves = {m: [] for m in methods}
    curves_rb = {m: [] for m in methods}
    outputs_cf = {m: [] for m in methods}
    gt_cf = []
    ev = Evaluation(list(methods), config={"size": size, "photos": len(photos), "unreadable": errors,
                                            "grayscale_skipped": grayscale,
                                            "temperature": temperature, "saturation": saturation, "balance": balance,
                                            "work_size": work_size, "bootstrap": bootstrap, "baseline": baseline,
                                            "levels": levels,
                                            "data": [str(d) for d in data]})
    top_gt, top_out = [], {m: [] for m in methods}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(photos), unit="photo")
    timings = {m: 0.0 for m in methods}
    for i, (name, rgb) in enumerate(photos):
        gray = gray_of(rgb)
        row: dict = {"name": name, "size": list(rgb.shape[:2]), "metrics": {}}
        gt_cf.append(metrics.colorfulness(rgb))
        outs = {}
        for m, fn in fns.items():
            t0 = time.perf_counter()
            out = fn(gray, rgb)
            timings[m] += time.perf_counter() - t0
            outs[m] = out
            c, tot = metrics.ab_error_curve(out, rgb)
            crb, totrb = metrics.ab_error_curve(out, rgb, bin_weights=bin_w)
            curves[m].append((c, tot))
            curves_rb[m].append((crb, totrb))
            cf = metrics.colorfulness(out)
            outputs_cf[m].append(cf)
            row["metrics"][m] = {
                "psnr": metrics.psnr(out, rgb), "ssim": metrics.ssim(out, rgb),
                "ciede2000": metrics.mean_ciede2000(out, rgb), "colorfulness": cf,
                "auc": metrics.auc_from_curves([(c, tot)]),
                "feature_distance": metrics.feature_distance(out, rgb) if semantic else float("nan"),
            }
        if semantic:
            classes = metrics.top1_classes([rgb, *outs.values()])
            top_gt.append(int(classes[0]))
            for m, c in zip(methods, classes[1:], strict=True):
                top_out[m].append(int(c))
        if thumbs is not None:
            _write_thumbs(thumbs, i, gray, outs, rgb)
            row["thumbs"] = {k: f"thumbs/{i:04d}_{k.replace(':', '_').replace('/', '_')}.jpg"
                             for k in ["gray-input", *methods, "original"]}
        ev.images.append(row)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    gt_mean_cf = float(np.mean(gt_cf))
    summary = {"ground_truth": {"colorfulness": gt_mean_cf, "semantic_agreement": 1.0 if semantic else None}}
    compared = {"difference_to_gray_95": "gray"}  # summary key -> the method subtracted
    if baseline not in (None, "gray"):
        compared["difference_to_baseline_95"] = baseline
    for m in methods:
        per = [r["metrics"][m] for r in ev.images]
        # a metric not computed (NaN everywhere: feature distance without --semantic) is left out;
        # one infinite everywhere (PSNR of exact copies) stays infinite
        s = {k: float(np.mean([p[k] for p in per if np.isfinite(p[k])] or [np.inf])) for k in METRIC_KEYS
             if not all(np.isnan(p[k]) for p in per)}
        s["delta_colorfulness"] = abs(float(np.mean(outputs_cf[m])) - gt_mean_cf)
        s["auc"] = metrics.auc_from_curves(curves[m])
        s["auc_rebalanced"] = metrics.auc_from_curves(curves_rb[m])
        if semantic:
            s["semantic_agreement"] = float(np.mean(np.array(top_out[m]) == np.array(top_gt)))
        s["seconds_per_photo"] = timings[m] / len(photos)
        for key, base in compared.items():  # gray against a baseline would only mirror baseline minus gray
            if base in methods and m not in (base, "gray") and bootstrap > 0:
                psnr = np.array([r["metrics"][m]["psnr"] - r["metrics"][base]["psnr"] for r in ev.images])
                diffs = paired_differences(psnr, curves[m], curves[base], curves_rb[m], curves_rb[base],
                                           resamples=bootstrap)
                if diffs:
                    s[key] = diffs
        summary[m] = s
    ev.summary = summary
    return ev


def paired_differences(psnr: np.ndarray, curves: list, base_curves: list, curves_rb: list, base_curves_rb: list,
                       *, resamples: int) -> dict[str, dict] | None:
    """A method minus a baseline (gray, or another method), each difference with its 95%
    paired-bootstrap interval over the photos.

    ``psnr``: per-photo PSNR differences (method minus baseline); photos with an infinite PSNR (an
    exact result) are left out of the PSNR difference. ``curves``...: per-photo
    ``(curve, total)`` of :func:`tinct.metrics.ab_error_curve`, plain and rebalanced, in the
    same photo order; each resample pools the drawn photos' curves before integrating, as the
    data-set AuC does. The rebalancing weights stay those of the whole set, so the rebalanced
    interval leaves out how the weights themselves would vary (it is, if anything, too narrow).
    Returns ``{"psnr" | "auc" | "auc_rebalanced": {"difference": d, "interval": [low, high]}}``,
    or None for fewer than 2 photos (an interval from one photo would read as certainty).
    """
    from tinct.metrics import auc_from_curves, paired_bootstrap_interval

    n = len(curves)
    if n < 2:
        return None

    def pooled_difference(a: list, b: list) -> Callable[[np.ndarray], float]:
        ca, ta = np.stack([c for c, _ in a]), np.array([t for _, t in a])
        cb, tb = np.stack([c for c, _ in b]), np.array([t for _, t in b])
        return lambda i: (auc_from_curves([(ca[i].sum(axis=0), ta[i].sum())])
                          - auc_from_curves([(cb[i].sum(axis=0), tb[i].sum())]))

    out: dict[str, dict] = {}
    finite = np.asarray(psnr, np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) >= 2:
        out["psnr"] = {"difference": float(finite.mean()), "interval": list(paired_bootstrap_interval(
            lambda i: float(finite[i].mean()), len(finite), resamples=resamples))}
    for key, a, b in (("auc", curves, base_curves), ("auc_rebalanced", curves_rb, base_curves_rb)):
        stat = pooled_difference(a, b)
        out[key] = {"difference": stat(np.arange(n)),
                    "interval": list(paired_bootstrap_interval(stat, n, resamples=resamples))}
    return out


def _thumb(img: np.ndarray, side: int = 160) -> Image.Image:
    im = Image.fromarray(img)
    im.thumbnail((side * 2, side), Image.Resampling.LANCZOS)
    return im


def _write_thumbs(folder: Path, i: int, gray: np.ndarray, outs: dict, rgb: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, img in [("gray-input", gray), *outs.items(), ("original", rgb)]:
        safe = key.replace(":", "_").replace("/", "_")
        _thumb(img).save(folder / f"{i:04d}_{safe}.jpg", quality=85)


def json_bytes(data: dict) -> bytes:
    """``data`` as standard JSON: a metric that was not computed (NaN) or is infinite becomes
    null, since JSON has no NaN (Python writes a bare ``NaN`` that JavaScript's parser refuses)."""

    def clean(v: object) -> object:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (float, np.floating)):
            return float(v) if np.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v

    return (json.dumps(clean(data), indent=1, allow_nan=False) + "\n").encode()


def write_report(ev: Evaluation, out: Path) -> Path:
    """metrics.json, metrics.csv and a sortable report.html in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    # each file whole or not at all: a report folder never holds a half-written table
    atomic_write(out / "metrics.json", json_bytes({"summary": ev.summary, "config": ev.config, "images": ev.images}))
    rows = io.StringIO(newline="")
    w = csv.writer(rows)
    w.writerow(["image", "method", *METRIC_KEYS, "auc"])
    for r in ev.images:
        for m in ev.methods:
            mm = r["metrics"][m]
            w.writerow([r["name"], m, *(f"{mm[k]:.4f}" for k in METRIC_KEYS), f"{mm['auc']:.3f}"])
    atomic_write(out / "metrics.csv", rows.getvalue().encode())
    page = out / "report.html"
    atomic_write(page, _html(ev).encode())
    return page


def difference_lines(ev: Evaluation) -> list[str]:
    """One line per method and baseline it was compared with (gray, then ``--baseline``): its
    differences and their intervals."""
    lines = []
    for key, base in (("difference_to_gray_95", "gray"), ("difference_to_baseline_95", ev.config.get("baseline"))):
        for m in ev.methods:
            iv = ev.summary[m].get(key)
            if not iv:
                continue
            parts = [f"{label} {iv[k]['difference']:+.2f} [{iv[k]['interval'][0]:+.2f}, {iv[k]['interval'][1]:+.2f}]"
                     for k, label in (("psnr", "PSNR"), ("auc", "AuC"), ("auc_rebalanced", "rebalanced AuC"))
                     if k in iv]
            lines.append(f"{m} minus {base}, 95% bootstrap interval over the photos: {'; '.join(parts)}")
    return lines


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "–"
    return "∞" if v == float("inf") else f"{v:.{digits}f}"


def _html(ev: Evaluation) -> str:
    cols = [("psnr", "PSNR (dB) ↑", 2), ("ssim", "SSIM ↑", 4), ("ciede2000", "CIEDE2000 ↓", 2),
            ("auc", "AuC % ↑", 2), ("auc_rebalanced", "AuC rebal. % ↑", 2), ("colorfulness", "CF", 2),
            ("delta_colorfulness", "ΔCF ↓", 2), ("semantic_agreement", "semantic agr. ↑", 3),
            ("feature_distance", "feature dist. ↓", 4), ("seconds_per_photo", "s/photo", 3)]
    head = "".join(f"<th>{html.escape(c[1])}</th>" for c in cols)
    rows = []
    for m in ev.methods:
        s = ev.summary[m]
        rows.append(f"<tr><td>{html.escape(m)}</td>" + "".join(f"<td>{_fmt(s.get(k), d)}</td>" for k, _, d in cols)
                    + "</tr>")
    gt = ev.summary["ground_truth"]
    rows.append(f"<tr class=gt><td>ground truth</td><td colspan=5></td><td>{_fmt(gt['colorfulness'], 2)}</td>"
                f"<td>0</td><td>{_fmt(gt['semantic_agreement'])}</td><td colspan=2></td></tr>")
    # worst cases first: by the first non-gray method's CIEDE2000
    key = next((m for m in ev.methods if m != "gray"), ev.methods[0])
    order = sorted(ev.images, key=lambda r: -r["metrics"][key]["ciede2000"])
    img_head = "".join(f"<th>{html.escape(m)}</th>" for m in ["gray input", *ev.methods, "original"])
    per = []
    for r in order:
        th = r.get("thumbs", {})
        pics = "".join(f'<td><img loading="lazy" src="{html.escape(th.get(k, ""))}" alt=""></td>'
                       for k in ["gray-input", *ev.methods, "original"]) if th else ""
        stats = "<br>".join(
            f"<b>{html.escape(m)}</b>: ΔE {r['metrics'][m]['ciede2000']:.2f}, PSNR {r['metrics'][m]['psnr']:.2f}, "
            f"AuC {r['metrics'][m]['auc']:.1f}" for m in ev.methods)
        per.append(f"<tr><td class=name>{html.escape(Path(r['name']).name)}<br><small>{stats}</small></td>"
                   f"{pics}</tr>")
    cfg = html.escape(json.dumps({k: v for k, v in ev.config.items() if k != "unreadable"}))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tinct evaluation</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: right; }}
td:first-child, th:first-child, td.name {{ text-align: left; }}
th {{ background: #f3f3f3; cursor: pointer; user-select: none; position: sticky; top: 0; }}
tr.gt td {{ color: #666; font-style: italic; }}
img {{ display: block; max-height: 140px; }}
small {{ color: #555; }}
</style></head><body>
<h1>tinct evaluation</h1>
<p>{len(ev.images)} colour photos, short side {ev.config.get('size')} px; each made gray (Lab L, a = b = 0),
colorized, and scored against the original. How each metric is computed: docs/metrics.md.
Click a column header to sort.</p>
<p><small>config: {cfg}</small></p>
<table class=sortable id=summary><thead><tr><th>method</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>
{''.join(f"<p>{html.escape(line)}</p>" for line in difference_lines(ev))}
<h2>Per photo, worst first (by {html.escape(key)} CIEDE2000)</h2>
<table id=photos><thead><tr><th>photo</th>{img_head}</tr></thead><tbody>{''.join(per)}</tbody></table>
<script>
document.querySelectorAll('table.sortable th').forEach((th, i) => th.addEventListener('click', () => {{
  const body = th.closest('table').tBodies[0];
  const rows = [...body.rows].filter(r => !r.classList.contains('gt'));
  const asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
  const val = r => {{ const t = r.cells[i].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; }};
  rows.sort((a, b) => (val(a) > val(b) ? 1 : -1) * (asc ? 1 : -1))
      .forEach(r => body.insertBefore(r, body.querySelector('tr.gt')));
}}));
</script></body></html>
"""
