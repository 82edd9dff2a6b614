"""PSNR against the number of ground-truth hints (Zhang et al. 2017's protocol).

    python tools/hint_curve.py ../shared/data/val docs/hint_curve.png --photos 24

For each colour photo (short side 256, made gray), hints are drawn at random positions
around the image centre (normal, sigma = 1/4 of each side, as in the paper) with the
ground truth's mean colour over a 5 x 5 patch (radius 2). PSNR (RGB, 0-255) of the guided
result against the original is averaged over photos for 0, 1, 2, 5, 10, 20, 50 hints.
The photo set is sampled evenly from the sorted file list; the seed is fixed.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from tinct._plot import line_plot
from tinct.evaluate import gray_of, load_photos
from tinct.guide import GuidedSession, Hint
from tinct.metrics import psnr

COUNTS = (0, 1, 2, 5, 10, 20, 50)


def sample_hints(rgb: np.ndarray, n: int, rng: np.random.Generator, radius: int = 2) -> list[Hint]:
    h, w = rgb.shape[:2]
    hints = []
    while len(hints) < n:
        y, x = rng.normal((h / 2, w / 2), (h / 4, w / 4))
        y, x = int(round(y)), int(round(x))
        if not (radius <= y < h - radius and radius <= x < w - radius):
            continue
        patch = rgb[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3).mean(axis=0)
        hints.append(Hint(x, y, tuple(int(round(c)) for c in patch), radius))
    return hints


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    photos, _, _ = load_photos([args.data], size=256)
    picks = [photos[int(i)] for i in np.linspace(0, len(photos) - 1, min(args.photos, len(photos)))]
    rng = np.random.default_rng(args.seed)
    table = {n: [] for n in COUNTS}
    gray_psnr = []
    for _, rgb in picks:
        gray = gray_of(rgb)
        gray_psnr.append(psnr(gray, rgb))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            session = GuidedSession(gray)
            for n in COUNTS:
                table[n].append(psnr(session.render(sample_hints(rgb, n, rng)), rgb))
    means = {n: float(np.mean(v)) for n, v in table.items()}
    line_plot({"tinct (network + hints)": list(means.items()),
               "gray input": [(n, float(np.mean(gray_psnr))) for n in COUNTS]},
              args.out, xlabel="number of ground-truth hints", ylabel="PSNR (dB)")
    result = {"photos": len(picks), "psnr_by_hints": means, "gray_psnr": float(np.mean(gray_psnr))}
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
