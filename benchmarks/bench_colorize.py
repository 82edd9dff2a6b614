"""Speed and memory of colorization, as ratios against baselines measured in the same run.

    python benchmarks/bench_colorize.py [--quick]

* end-to-end ``tinct colorize`` (read -> colorize -> write) at 0.25 / 1 / 4 / 12 MP, each in a
  fresh process so that its peak RSS is its own; targets: 1 MP <= 0.5 s, 12 MP <= 3 s,
  peak RSS <= 1.5 GB;
* the network forward at 256^2 against Zhang et al. 2016's architecture (VGG-style, ~32M
  parameters, random weights, built here from the paper's layer table); target ratio <= 1/3;
* training images/s at 128^2 (one optimizer step of batch 32) against a plain baseline loop of
  the same network without the data pipeline;
* a folder of photos through ``tinct colorize`` with 1 vs 2 workers.

Writes its table between the ``colorize`` markers in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def zhang2016(num_bins: int = 313):
    """Zhang, Isola & Efros 2016, Table/Fig. 2: conv1-8 (VGG-style, dilated conv5-6), 1x1 to Q."""
    from torch import nn

    def block(cin, cout, n, stride=1, dilation=1):
        layers = []
        for i in range(n):
            s = stride if i == n - 1 else 1
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, s, padding=dilation, dilation=dilation),
                       nn.ReLU(inplace=True)]
        return layers + [nn.BatchNorm2d(cout)]

    return nn.Sequential(
        *block(1, 64, 2, stride=2), *block(64, 128, 2, stride=2), *block(128, 256, 3, stride=2),
        *block(256, 512, 3), *block(512, 512, 3, dilation=2), *block(512, 512, 3, dilation=2),
        *block(512, 512, 3),
        nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.ReLU(inplace=True),
        *block(256, 256, 2)[:-1], nn.Conv2d(256, num_bins, 1),
    )


def time_it(fn, repeat: int = 5) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_forward() -> dict:
    import torch

    from tinct.models._weights import load_model

    ours = load_model()
    zhang = zhang2016().eval()
    x = torch.rand(1, 1, 256, 256) * 100
    with torch.inference_mode():
        t_ours = time_it(lambda: ours(x))
        t_zhang = time_it(lambda: zhang(x), repeat=3)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_zhang = sum(p.numel() for p in zhang.parameters())
    return {"ours_s": t_ours, "zhang_s": t_zhang, "ratio": t_ours / t_zhang, "ours_params": n_ours,
            "zhang_params": n_zhang}


def bench_training() -> dict:
    import numpy as np
    import torch

    from tinct.color.gamut import rebalance_weights
    from tinct.models.colornet import ColorNet
    from tinct.training.data import make_batch, random_crop
    from tinct.training.loss import rebalanced_soft_ce

    torch.manual_seed(0)
    net = ColorNet()
    opt = torch.optim.AdamW(net.parameters(), 1e-4)
    rng = np.random.default_rng(0)
    import skimage.data

    photos = [getattr(skimage.data, n)() for n in ("astronaut", "coffee", "chelsea", "rocket")]
    w = torch.from_numpy(rebalance_weights(np.ones(262)))
    x = torch.rand(32, 1, 128, 128) * 100

    def plain():  # baseline: forward/backward/step on a fixed tensor, no data pipeline
        loss = net(x).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def ours():  # the real step: crops, Lab, soft encoding, rebalanced loss
        crops = [random_crop(photos[i % 4], rng, size=128, scale_min=0.3, rotate_deg=5) for i in range(32)]
        b = make_batch(crops)
        loss = rebalanced_soft_ce(net(torch.from_numpy(b.light)), torch.from_numpy(b.target_idx),
                                  torch.from_numpy(b.target_w), w)
        opt.zero_grad()
        loss.backward()
        opt.step()

    t_plain, t_ours = time_it(plain, 3), time_it(ours, 3)
    return {"img_per_s": 32 / t_ours, "baseline_img_per_s": 32 / t_plain, "ratio": t_plain / t_ours}


def make_photo(path: Path, megapixels: float) -> None:
    import numpy as np
    import skimage.data
    from PIL import Image

    base = Image.fromarray(skimage.data.astronaut()).convert("L")
    side = int(np.sqrt(megapixels * 1e6 * 3 / 4))
    base.resize((int(side * 4 / 3), side), Image.Resampling.BICUBIC).save(path, quality=92)


def bench_end_to_end(sizes: list[float], tmp: Path) -> list[dict]:
    rows = []
    for mp in sizes:
        src = tmp / f"photo_{mp}mp.jpg"
        make_photo(src, mp)
        code = (
            "import resource, sys, time, warnings\n"
            "from pathlib import Path\n"
            "from tinct.cli import main\n"
            f"src = Path({str(src)!r}); out = Path({str(tmp / 'out')!r})\n"
            "main(['colorize', str(src), '-o', str(out), '--overwrite', '-q'])  # warm-up: model load\n"
            "t = time.perf_counter()\n"
            "main(['colorize', str(src), '-o', str(out), '--overwrite', '-q'])\n"
            "dt = time.perf_counter() - t\n"
            "print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
        )
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        dt, rss = map(float, res.stdout.split())
        rows.append({"megapixels": mp, "seconds": dt, "peak_rss_mb": rss})
    return rows


def bench_batch(tmp: Path, n: int) -> dict:
    folder = tmp / "batch"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        make_photo(folder / f"p{i:03d}.jpg", 0.3)
    out = {}
    for workers in (1, 2):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tinct", "colorize", str(folder), "-o", str(tmp / f"b{workers}"),
                        "--workers", str(workers), "-q"], check=True)
        out[workers] = time.perf_counter() - t
    return {"photos": n, "one_worker_s": out[1], "two_workers_s": out[2], "speedup": out[1] / out[2]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip 12 MP and the batch run")
    ap.add_argument("--huge", action="store_true", help="also a 50 MP scan (target: peak RSS <= 2 GB)")
    args = ap.parse_args()
    sizes = [0.25, 1, 4] if args.quick else [0.25, 1, 4, 12]
    if args.huge:
        sizes.append(50)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        e2e = bench_end_to_end(sizes, tmp)
        fwd = bench_forward()
        train = bench_training()
        batch = None if args.quick else bench_batch(tmp, 24)
    lines = [f"## colorize (measured {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, torch CPU)", "",
             "| photo | end-to-end (read, colorize, write) | peak RSS |", "|---|---|---|"]
    lines += [f"| {r['megapixels']} MP | {r['seconds']:.2f} s | {r['peak_rss_mb']:.0f} MB |" for r in e2e]
    lines += ["", "| comparison (same run) | ours | baseline | ratio |", "|---|---|---|---|",
              f"| forward at 256² vs Zhang'16 ({fwd['zhang_params'] / 1e6:.1f}M params) | {fwd['ours_s'] * 1e3:.0f} ms "
              f"({fwd['ours_params'] / 1e6:.1f}M) | {fwd['zhang_s'] * 1e3:.0f} ms | "
              f"{fwd['ratio']:.3f} (target ≤ 0.333) |",
              f"| training step, batch 32 at 128², full pipeline vs bare network | {train['img_per_s']:.1f} img/s | "
              f"{train['baseline_img_per_s']:.1f} img/s | {train['ratio']:.2f} |"]
    if batch:
        lines.append(f"| {batch['photos']} photos (0.3 MP), 2 workers vs 1 | {batch['two_workers_s']:.1f} s | "
                     f"{batch['one_worker_s']:.1f} s | {batch['speedup']:.2f}× faster |")
    section = "\n".join(lines)
    print(section)
    print(json.dumps({"end_to_end": e2e, "forward": fwd, "training": train, "batch": batch}, indent=1))
    write_section("colorize", section)


if __name__ == "__main__":
    main()
