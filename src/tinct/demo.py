"""`tinct demo`: colorize the photos scikit-image ships and write a before/after page.

``camera`` is a real black-and-white photograph; the others are colour photos turned
gray, so the page can show the original beside the result. Nothing is downloaded.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

SAMPLES = ("camera", "astronaut", "coffee", "chelsea", "rocket")


def _gray(rgb: np.ndarray) -> np.ndarray:
    """Lab L with a = b = 0, stored as an 8-bit gray photo."""
    from tinct.color.lab import lab_to_rgb, rgb_to_gray_l

    if rgb.ndim == 2:
        return rgb
    light = rgb_to_gray_l(rgb)
    lab = np.stack([light, np.zeros_like(light), np.zeros_like(light)], axis=-1)
    return np.round(lab_to_rgb(lab)[..., 0] * 255).astype(np.uint8)


def run_demo(outdir: Path) -> Path:
    """Colorize the samples into ``outdir``; return the path of ``index.html``."""
    import skimage.data

    import tinct
    from tinct.io import imwrite

    outdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in SAMPLES:
        original = getattr(skimage.data, name)()
        gray = _gray(original)
        result = tinct.colorize(gray)
        imwrite(outdir / f"{name}_gray.png", gray)
        imwrite(outdir / f"{name}_tinct.png", result)
        cells = [f"{name}_gray.png", f"{name}_tinct.png"]
        if original.ndim == 3:
            imwrite(outdir / f"{name}_original.png", original)
            cells.append(f"{name}_original.png")
        rows.append((name, cells))
    page = outdir / "index.html"
    page.write_text(_page(rows))
    return page


def _page(rows: list[tuple[str, list[str]]]) -> str:
    heads = ["grayscale input", "tinct", "original colour photo"]
    body = []
    for name, cells in rows:
        tds = "".join(f'<td><img src="{html.escape(c)}" alt="{html.escape(name)}: {heads[i]}"></td>'
                      for i, c in enumerate(cells))
        note = "" if len(cells) == 3 else "<td class=note>a real black-and-white photograph: no original colours</td>"
        body.append(f"<tr><th>{html.escape(name)}</th>{tds}{note}</tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinct demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; background: #fafafa; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: .4rem; vertical-align: middle; }}
th {{ text-align: left; font-weight: 600; }}
img {{ max-width: 28vw; max-height: 320px; border-radius: 4px; display: block; }}
.note {{ color: #666; max-width: 20rem; }}
</style></head><body>
<h1>tinct: grayscale in, colour out</h1>
<p>Each row: the grayscale input, tinct's automatic colorization (shipped network, CPU), and the
original colour photo where one exists. Photos from scikit-image's sample data.</p>
<table><thead><tr><th></th>{"".join(f"<th>{h}</th>" for h in heads)}</tr></thead>
<tbody>{"".join(body)}</tbody></table></body></html>
"""
