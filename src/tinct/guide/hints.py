"""Colour hints: points with a radius, JSON files of them, and scribble layers.

A hint says "this pixel (and the disc of ``radius`` around it) has this colour". Hints
are given in full-resolution pixel coordinates of the photo (x to the right, y down).

JSON schema (``--hints FILE``)::

    {"hints": [{"x": 120, "y": 80, "color": "#c0392b", "radius": 4}, ...]}

``color`` may also be ``[r, g, b]`` (0-255); ``radius`` is optional (default 0). A bare
list of hint objects is accepted too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Hint", "parse_hint", "parse_color", "hints_from_json", "hints_from_scribbles", "hint_pixels", "rasterize"]

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Hint:
    """A colour the result must take at pixel (x, y), over a disc of ``radius`` pixels.

    ``rgb`` is (r, g, b) in 0-255 or a ``"#RRGGBB"`` string."""

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float = 0.0

    def __post_init__(self) -> None:
        for name in ("x", "y", "radius"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"hint {name} must be a number, got {value!r}")
        if isinstance(self.rgb, str):  # "#RRGGBB", as the CLI and the web API take it
            object.__setattr__(self, "rgb", parse_color(self.rgb))
        if len(self.rgb) != 3 or any(not 0 <= int(c) <= 255 for c in self.rgb):
            raise ValueError(f"hint colour must be three values in 0-255, got {self.rgb}")
        if self.radius < 0:
            raise ValueError(f"hint radius must be >= 0, got {self.radius}")
        object.__setattr__(self, "rgb", tuple(int(c) for c in self.rgb))

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


def parse_color(text: str | list | tuple) -> tuple[int, int, int]:
    """'#RRGGBB', 'RRGGBB' or [r, g, b] -> (r, g, b)."""
    if isinstance(text, (list, tuple)):
        if len(text) != 3:
            raise ValueError(f"colour must have 3 components, got {text!r}")
        return tuple(int(c) for c in text)  # type: ignore[return-value]
    m = _HEX.match(str(text).strip())
    if not m:
        raise ValueError(f"colour must look like #RRGGBB, got {text!r}")
    v = m.group(1)
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def parse_hint(text: str) -> Hint:
    """Parse ``X,Y,#RRGGBB[,RADIUS]`` (the ``--hint`` syntax)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise ValueError(f"--hint {text!r}: expected X,Y,#RRGGBB[,RADIUS]")
    try:
        x, y = float(parts[0]), float(parts[1])
        radius = float(parts[3]) if len(parts) == 4 else 0.0
    except ValueError:
        raise ValueError(f"--hint {text!r}: X, Y and RADIUS must be numbers") from None
    try:
        return Hint(x, y, parse_color(parts[2]), radius)
    except ValueError as exc:
        raise ValueError(f"--hint {text!r}: {exc}") from None


def hints_from_json(path: Path) -> list[Hint]:
    """Read hints from a JSON file (schema in the module docstring)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    items = data.get("hints") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected {{\"hints\": [...]}} or a list of hints")
    hints = []
    for i, h in enumerate(items):
        try:
            hints.append(Hint(float(h["x"]), float(h["y"]), parse_color(h.get("color", h.get("rgb"))),
                              float(h.get("radius", 0))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: hint {i}: {exc}") from None
    return hints


def hints_from_scribbles(path: Path, *, max_hints: int = 20000) -> list[Hint]:
    """Hints from a scribble layer: coloured strokes on a transparent or gray background.

    A pixel is a stroke when it is opaque (alpha > 127) in an image with transparency,
    or clearly coloured (channel spread > 24 of 255) in one without. Dense strokes are
    subsampled on a grid to at most ``max_hints`` points.
    """
    from tinct.io import imread

    img = imread(path)
    rgb = img[..., :3].astype(np.float32)
    if img.dtype == np.uint16:
        rgb /= 257
    if img.shape[-1] == 4:
        alpha = img[..., 3].astype(np.float32) / (65535 if img.dtype == np.uint16 else 255)
        mask = alpha > 0.5
    else:
        mask = (rgb.max(axis=-1) - rgb.min(axis=-1)) > 24
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        raise ValueError(f"{path}: no coloured strokes found (draw on a transparent or gray layer)")
    step = int(np.ceil(np.sqrt(len(ys) / max_hints)))
    if step > 1:
        keep = (ys % step == 0) & (xs % step == 0)
        ys, xs = ys[keep], xs[keep]
    cols = np.round(rgb[ys, xs]).astype(int)
    return [Hint(float(x), float(y), tuple(c), 0.0) for x, y, c in zip(xs, ys, cols, strict=True)]


def hint_pixels(hints: list[Hint], shape: tuple[int, int], *,
                scale: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels the hints cover on a grid of ``shape``, with their Lab ab.

    ``scale = (sy, sx)`` maps photo pixels to grid pixels (grid size / photo size); a
    hint's radius scales with the mean of the two. A pixel covered by several hints takes
    the last one's colour.

    Returns
    -------
    ys, xs : (n,) int arrays
    ab : (n, 2) float32
    """
    from tinct.color.lab import rgb_to_lab

    h, w = shape
    ys, xs, abs_ = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)], [np.zeros((0, 2), np.float32)]
    if hints:
        hint_ab = rgb_to_lab(np.array([hi.rgb for hi in hints], np.uint8))[:, 1:]
    for hi, c in zip(hints, hint_ab if hints else [], strict=True):
        # pixel centres: photo pixel x covers [x, x+1), so its centre maps to (x + 0.5) * scale
        cx, cy = (hi.x + 0.5) * scale[1] - 0.5, (hi.y + 0.5) * scale[0] - 0.5
        r = max(hi.radius * (scale[0] + scale[1]) / 2, 0.5)
        x0, x1 = max(0, int(cx - r - 1)), min(w, int(cx + r + 2))
        y0, y1 = max(0, int(cy - r - 1)), min(h, int(cy + r + 2))
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        if not disc.any():  # a tiny radius between pixel centres: take the nearest pixel
            disc = (yy == min(max(round(cy), y0), y1 - 1)) & (xx == min(max(round(cx), x0), x1 - 1))
        ys.append(yy[disc])
        xs.append(xx[disc])
        abs_.append(np.repeat(c[None].astype(np.float32), int(disc.sum()), axis=0))
    y, x, ab = np.concatenate(ys), np.concatenate(xs), np.concatenate(abs_)
    # keep the last hint at each pixel
    flat = (y * w + x)[::-1]
    _, first = np.unique(flat, return_index=True)
    keep = len(flat) - 1 - first
    return y[keep], x[keep], ab[keep]


def rasterize(hints: list[Hint], shape: tuple[int, int], *,
              scale: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Hints as a mask and an ab image on a grid of ``shape`` (see :func:`hint_pixels`).

    Returns
    -------
    mask : (h, w) bool
    ab : (h, w, 2) float32 (the hints' Lab a, b; zero elsewhere)
    """
    ys, xs, values = hint_pixels(hints, shape, scale=scale)
    mask = np.zeros(shape, bool)
    ab = np.zeros(shape + (2,), np.float32)
    mask[ys, xs] = True
    ab[ys, xs] = values
    return mask, ab
