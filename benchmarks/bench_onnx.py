"""The network on torch vs onnxruntime: same inputs, same process, interleaved repeats.

    python benchmarks/bench_onnx.py [--repeats N] [--no-write]

For 1 and 2 threads (torch.set_num_threads / the session's intra-op threads, as
``tinct colorize --workers`` sets them) and working sizes 192 and 384 (short side; a real
4:3-ish photo from ../shared/data/val, else scikit-image's coffee), it times one forward pass
per engine, alternating which goes first in each round, and reports the medians, their ratio
and the largest logit difference. Also the one-off costs: building the export, and loading
a cached one, against loading the torch weights. Writes its table between the ``onnx``
markers in benchmarks/RESULTS.md (``--no-write`` only prints).

torch runs twice, in separate processes: with the OpenMP default wait policy and with
``OMP_WAIT_POLICY=PASSIVE``. On a machine whose cores are busy with other work, torch's
default (spinning) OpenMP threads can wait for each other for seconds per pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import write_section

HERE = Path(__file__).resolve().parent
VAL = HERE.parent.parent / "shared" / "data" / "val"


def photo_light() -> tuple[np.ndarray, str]:
    """Lab L of the first photo of the validation set (sorted paths), or of a scikit-image sample."""
    from tinct.colorizer import prepare

    files = sorted(p for p in VAL.rglob("*.jpg")) if VAL.is_dir() else []
    for path in files:
        from PIL import Image

        img = np.asarray(Image.open(path).convert("L"))
        if img.shape[1] / img.shape[0] <= 1.5:  # a typical photo shape, not a panorama
            return prepare(img).light, f"{path.parent.name}/{path.name}"
    import skimage.data

    return prepare(skimage.data.coffee()).light, "skimage coffee"


def interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        for k in names if r % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t)
    return times


def bench(repeats: int) -> tuple[list[dict], dict, str]:
    import torch

    from tinct.color.upsample import resize_plane
    from tinct.colorizer import working_shape
    from tinct.models import _onnx
    from tinct.models._weights import load_model, shipped_weights

    light, source = photo_light()
    t = time.perf_counter()
    net = load_model.__wrapped__()  # uncached: the real load time
    one_off = {"torch_load_s": time.perf_counter() - t}
    t = time.perf_counter()
    data = _onnx.onnx_bytes(net)
    one_off["export_s"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "colornet.onnx"
        path.write_bytes(data)
        rows = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            import onnxruntime as ort

            t = time.perf_counter()
            opts = _onnx.session_options(threads)
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            one_off.setdefault("onnx_load_s", time.perf_counter() - t)
            for size in (192, 384):
                hw, ww = working_shape(*light.shape, size)
                work = resize_plane(light, (hw, ww), resample="box")[None, None].copy()
                x = torch.from_numpy(work)
                with torch.inference_mode():
                    fns = {"torch": lambda x=x: net(x), "onnx": lambda w=work, s=session: _onnx.run(s, w)}
                    for f in fns.values():  # warm-up
                        f()
                    times = interleaved(fns, repeats)
                    diff = float(np.abs(net(x).numpy() - _onnx.run(session, work)).max())
                med = {k: statistics.median(v) for k, v in times.items()}
                rows.append({"threads": threads, "size": size, "shape": [hw, ww], "torch_ms": med["torch"] * 1e3,
                             "onnx_ms": med["onnx"] * 1e3, "speedup": med["torch"] / med["onnx"],
                             "torch_min_ms": min(times["torch"]) * 1e3, "onnx_min_ms": min(times["onnx"]) * 1e3,
                             "max_abs_diff": diff})
    return rows, one_off, f"{source}; weights {shipped_weights().name}"


def run_policy(policy: str | None, repeats: int) -> dict:
    """One benchmark process; OMP_WAIT_POLICY must be set before torch starts its OpenMP runtime."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, __file__, "--worker", "--repeats", str(repeats)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=11, help="timed rounds per engine and setting (default 11)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        rows, one_off, source = bench(args.repeats)
        print(json.dumps({"rows": rows, "one_off": one_off, "source": source}))
        return
    import onnxruntime
    import torch

    load_before = os.getloadavg()[0]
    runs = {policy or "default": run_policy(policy, args.repeats) for policy in (None, "PASSIVE")}
    load_after = os.getloadavg()[0]
    first = runs["default"]
    lines = [f"## Network on torch vs onnxruntime (`benchmarks/bench_onnx.py`, measured {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores)", "",
             f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; one forward pass of the shipped "
             f"network on {first['source']}; median of {args.repeats} interleaved rounds (min in brackets). "
             "Each OpenMP wait policy is its own process (torch reads it at start-up; onnxruntime does not use "
             f"OpenMP). Load average {load_before:.1f} before, {load_after:.1f} after.", "",
             "| threads | working size | torch's OMP_WAIT_POLICY | torch | onnxruntime | onnxruntime speed-up "
             "| max abs logit diff |",
             "|---:|---|---|---:|---:|---:|---:|"]
    for policy, run in runs.items():
        lines += [f"| {r['threads']} | {r['shape'][0]} × {r['shape'][1]} | {policy} | "
                  f"{r['torch_ms']:.1f} ms ({r['torch_min_ms']:.1f}) | "
                  f"{r['onnx_ms']:.1f} ms ({r['onnx_min_ms']:.1f}) | {r['speedup']:.2f}× | "
                  f"{r['max_abs_diff']:.1e} |" for r in run["rows"]]
    one_off = first["one_off"]
    lines += ["", f"One-off costs: loading the torch weights {one_off['torch_load_s']:.2f} s; building the ONNX export "
              f"(first use per weight file, then cached) {one_off['export_s']:.2f} s; loading a cached export "
              f"{one_off['onnx_load_s']:.2f} s."]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section("onnx", section)


if __name__ == "__main__":
    main()
