"""Before/after grid of val photos for the model card: gray input | tinct | original.

    python tools/model_grid.py ../shared/data/val docs/model_grid.png --n 12

Photos are taken evenly spaced from the sorted list (no cherry-picking), resized to a
common height.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from PIL import Image, ImageDraw

import tinct
from tinct.evaluate import gray_of
from tinct.io import find_images, imread


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--height", type=int, default=160)
    ap.add_argument("--model", default="default")
    args = ap.parse_args()
    files = sorted(find_images([args.data]))
    picks = [files[int(i)] for i in np.linspace(0, len(files) - 1, args.n)]
    rows = []
    for path in picks:
        rgb = imread(path)[..., :3]
        scale = 320 / min(rgb.shape[:2])
        rgb = np.asarray(Image.fromarray(rgb).resize((round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                                                     Image.Resampling.LANCZOS))
        gray = gray_of(rgb)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = tinct.colorize(gray, model=args.model)
        h = args.height
        w = round(rgb.shape[1] * h / rgb.shape[0])
        rows.append([Image.fromarray(x).resize((w, h), Image.Resampling.LANCZOS) for x in (gray, out, rgb)])
    # two columns of triplets
    cols = 2
    trip_w = max(sum(im.width for im in r) + 8 for r in rows)
    grid = Image.new("RGB", (cols * trip_w + 8, 24 + (len(rows) + cols - 1) // cols * (args.height + 6)), "white")
    d = ImageDraw.Draw(grid)
    for c in range(cols):
        d.text((c * trip_w + 8, 6), "gray input  |  tinct  |  original", fill="black")
    for i, r in enumerate(rows):
        x = (i % cols) * trip_w + 8
        y = 24 + (i // cols) * (args.height + 6)
        for im in r:
            grid.paste(im, (x, y))
            x += im.width + 2
    grid.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
