"""Pictures of explanations: heat maps, colour bars, region outlines, swatch legends.

Drawn with numpy and PIL only. The colour maps are matplotlib's perceptually uniform
``magma`` and ``viridis`` (CC0, van der Walt and Smith 2015) sampled at 17 stops and
interpolated linearly, which stays within a few 8-bit levels of the full 256-entry tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tinct.io import to_float

__all__ = ["COLORMAPS", "apply_colormap", "render_heatmap", "render_colorbar", "outline_regions",
           "render_swatches", "fit_size"]

COLORMAPS = {
    "magma": np.array([
        [0, 0, 4], [10, 8, 34], [29, 17, 71], [54, 16, 107], [81, 18, 124], [106, 28, 129], [131, 38, 129],
        [156, 46, 127], [183, 55, 121], [208, 65, 111], [231, 82, 99], [245, 107, 92], [252, 137, 97],
        [254, 167, 114], [254, 196, 136], [253, 226, 163], [252, 253, 191]], np.float32),
    "viridis": np.array([
        [68, 1, 84], [72, 24, 106], [71, 45, 123], [66, 64, 134], [59, 82, 139], [51, 99, 141], [44, 114, 142],
        [38, 130, 142], [33, 145, 140], [31, 160, 136], [40, 174, 128], [63, 188, 115], [94, 201, 98],
        [132, 212, 75], [173, 220, 48], [216, 226, 25], [253, 231, 37]], np.float32),
}


def _font(size: int = 12) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def apply_colormap(values: np.ndarray, colormap: str = "magma") -> np.ndarray:
    """Map values in [0, 1] (clipped; NaN -> 0) to uint8 RGB, shape (...) -> (..., 3)."""
    if colormap not in COLORMAPS:
        raise ValueError(f"colormap must be one of {sorted(COLORMAPS)}, got {colormap!r}")
    stops = COLORMAPS[colormap]
    v = np.nan_to_num(np.clip(np.asarray(values, np.float32), 0, 1), nan=0.0) * (len(stops) - 1)
    i = np.minimum(v.astype(np.int64), len(stops) - 2)
    t = (v - i)[..., None]
    return np.rint(stops[i] * (1 - t) + stops[i + 1] * t).astype(np.uint8)


def _base_float(base: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    base = np.asarray(base)
    if base.ndim == 3 and base.shape[-1] in (1, 2):
        base = base[..., 0]
    if base.ndim == 2:
        base = base[..., None].repeat(3, axis=-1)
    if base.ndim != 3 or base.shape[-1] not in (3, 4):
        raise ValueError(f"base_rgb must be (H, W) or (H, W, 1-4), got shape {base.shape}")
    if base.shape[:2] != shape:
        raise ValueError(f"base_rgb {base.shape[:2]} and values {shape} must have the same height and width")
    return np.clip(to_float(base[..., :3]), 0, 1)


def render_heatmap(values: np.ndarray, base_rgb: np.ndarray, *, alpha: float = 0.55,
                   colormap: str = "magma") -> np.ndarray:
    """Overlay a [0, 1] map on a photo in a perceptual colour map.

    Parameters
    ----------
    values : ndarray, shape (H, W)
        Values in [0, 1] (clipped); 0 is drawn black-purple, 1 pale yellow (magma).
    base_rgb : ndarray, shape (H, W) or (H, W, C)
        The photo underneath (uint8, uint16 or float in [0, 1]; alpha ignored). Pass the
        gray photo so that all the hue comes from the map.
    alpha : float
        Opacity of the map, 0 (photo only) to 1 (map only).
    colormap : {"magma", "viridis"}

    Returns
    -------
    ndarray, shape (H, W, 3), uint8

    Examples
    --------
    >>> render_heatmap(np.ones((2, 2)), np.zeros((2, 2), np.uint8), alpha=1.0)[0, 0].tolist()
    [252, 253, 191]
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D (H, W), got shape {values.shape}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = _base_float(base_rgb, values.shape)
    heat = apply_colormap(values, colormap).astype(np.float32) / 255
    return np.rint(((1 - alpha) * base + alpha * heat) * 255).astype(np.uint8)


def render_colorbar(width: int, *, low: str, high: str, title: str = "", colormap: str = "magma",
                    height: int = 44) -> np.ndarray:
    """A horizontal colour bar with end labels and a title, uint8 (height, width, 3)."""
    img = Image.new("RGB", (width, height), "white")
    bar = apply_colormap(np.broadcast_to(np.linspace(0, 1, max(1, width - 20))[None], (12, max(1, width - 20))),
                         colormap)
    img.paste(Image.fromarray(bar), (10, 4))
    d = ImageDraw.Draw(img)
    font = _font(12)
    d.text((10, 20), low, fill="black", font=font)
    d.text((width - 10, 20), high, fill="black", font=font, anchor="ra")
    if title:
        d.text((width // 2, 20), title, fill="black", font=font, anchor="ma")
    return np.asarray(img)


def fit_size(shape: tuple[int, int], longest: int) -> tuple[int, int]:
    """(height, width) scaled down so the long side is at most ``longest`` (never up)."""
    h, w = shape
    scale = min(1.0, longest / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def outline_regions(rgb: np.ndarray, labels: np.ndarray, *, ids: Sequence[tuple[int, float, float]] = (),
                    colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Draw region boundaries (and optional id numbers at (id, x, y)) on a uint8 RGB image."""
    from skimage.segmentation import find_boundaries

    if rgb.shape[:2] != labels.shape:
        raise ValueError(f"rgb {rgb.shape[:2]} and labels {labels.shape} must have the same height and width")
    out = np.array(rgb[..., :3], np.uint8)
    edge = find_boundaries(labels, mode="inner")
    out[edge] = (0.35 * out[edge] + 0.65 * np.array(colour)).astype(np.uint8)
    if ids:
        img = Image.fromarray(out)
        d = ImageDraw.Draw(img)
        font = _font(max(10, min(16, min(out.shape[:2]) // 40)))
        for i, x, y in ids:
            d.text((x, y), str(i), fill="white", font=font, anchor="mm", stroke_width=2, stroke_fill="black")
        out = np.asarray(img)
    return out


def _text_colour(rgb: tuple[int, int, int]) -> str:
    r, g, b = rgb
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def render_swatches(regions: Sequence, *, k: int | None = None, max_rows: int = 24,
                    swatch: tuple[int, int] = (64, 26)) -> np.ndarray:
    """A legend of candidate colours: one row per region, its top-k swatches with percentages.

    Parameters
    ----------
    regions : sequence of Region
        Anything with ``id`` and ``candidates`` (a list of :class:`Suggestion`).
    k : int, optional
        Swatches per row (default: the most candidates any region has).
    max_rows : int
        Rows per column block; more regions continue in a further block to the right.
    swatch : (width, height)
        Size of one swatch in pixels.

    Returns
    -------
    ndarray, shape (height, width, 3), uint8
    """
    regions = list(regions)
    if k is None:
        k = max((len(r.candidates) for r in regions), default=1)
    k = max(1, k)
    sw, sh = swatch
    label_w, gap, pad, head = 44, 4, 8, 22
    rows = max(1, min(max_rows, len(regions)))
    blocks = max(1, -(-len(regions) // max_rows))
    block_w = label_w + k * (sw + gap)
    width = pad + blocks * (block_w + pad)
    height = pad + head + rows * (sh + gap) + pad
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    font = _font(12)
    for b in range(blocks):
        x0 = pad + b * (block_w + pad)
        d.text((x0, pad), "region", fill="black", font=font)
        d.text((x0 + label_w, pad), f"top {k} colours (probability)", fill="black", font=font)
    for n, region in enumerate(regions):
        b, row = divmod(n, max_rows)
        x = pad + b * (block_w + pad)
        y = pad + head + row * (sh + gap)
        d.text((x + 4, y + sh // 2), f"#{region.id}", fill="black", font=font, anchor="lm")
        for j, cand in enumerate(region.candidates[:k]):
            sx = x + label_w + j * (sw + gap)
            d.rectangle([sx, y, sx + sw - 1, y + sh - 1], fill=tuple(cand.rgb), outline=(160, 160, 160))
            d.text((sx + sw // 2, y + sh // 2), f"{100 * cand.probability:.0f}%", fill=_text_colour(cand.rgb),
                   font=font, anchor="mm")
    return np.asarray(img)
