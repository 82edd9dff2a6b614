"""Tiny line plots drawn with PIL, so no plotting library is needed at run time."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def line_plot(series: dict[str, list[tuple[float, float]]], path: str | Path, *, xlabel: str = "",
              ylabel: str = "", size: tuple[int, int] = (720, 420), log_y: bool = False) -> None:
    """Draw named (x, y) series on shared axes and save a PNG."""
    import math

    w, h = size
    left, right, top, bottom = 70, 20, 20, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    pts = [p for s in series.values() for p in s if math.isfinite(p[1])]
    if not pts:
        img.save(path)
        return
    ty = (lambda v: math.log10(max(v, 1e-12))) if log_y else (lambda v: v)
    xs, ys = [p[0] for p in pts], [ty(p[1]) for p in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (w - left - right),
                h - bottom - (ty(y) - y0) / (y1 - y0) * (h - top - bottom))

    d.rectangle([left, top, w - right, h - bottom], outline=(120, 120, 120))
    for i in range(5):
        fy = y0 + (y1 - y0) * i / 4
        py = h - bottom - (h - top - bottom) * i / 4
        label = f"{10**fy:.3g}" if log_y else f"{fy:.3g}"
        d.text((5, py - 6), label, fill="black")
        fx = x0 + (x1 - x0) * i / 4
        d.text((left + (w - left - right) * i / 4 - 10, h - bottom + 5), f"{fx:.4g}", fill="black")
    d.text((w // 2 - 20, h - 20), xlabel, fill="black")
    d.text((5, 2), ylabel, fill="black")
    for k, (name, s) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        line = [to_px(x, y) for x, y in s if math.isfinite(y)]
        if len(line) > 1:
            d.line(line, fill=colour, width=2)
        for p in line if len(line) < 30 else []:
            d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=colour)
        d.text((w - right - 150, top + 8 + 14 * k), name, fill=colour)
    img.save(path)
