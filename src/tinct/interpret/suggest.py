"""Colour suggestions at a pixel: the network's most likely distinct colours there.

This is what the web UI shows when a person clicks a pixel: the top-k colours of the
distribution the network predicts at that point (temperature 1, i.e. the distribution
itself, not the annealed mean the colorized result uses), each drawn at the pixel's own
lightness, with its probability.

Neighbouring ab bins (10 Lab units apart) are nearly the same colour, and a peaked
distribution puts its mass on a bin *and* its neighbours. Plain top-k would then offer
five shades of one green. So bins are taken greedily in order of probability, and a bin
that is one of the 8 grid neighbours of an already chosen bin (or that renders to the
same sRGB colour at this lightness) is not offered itself: its mass is added to that
chosen bin. The k suggestions are distinct colours, and each probability is the mass of
the chosen bin plus the neighbours merged into it (so they sum to at most 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tinct.color.gamut import GRID, ab_bins, clip_ab_to_gamut
from tinct.color.lab import lab_to_rgb, rgb_to_lab
from tinct.colorizer import DEFAULT_BALANCE, DEFAULT_SIZE, prepare
from tinct.interpret._distribution import cached_logits, grid_box, grid_index, log_probabilities

__all__ = ["Suggestion", "suggest_colors", "top_colours"]

JND = 2.3  # CIE76 distance below which two suggested colours look the same (Sharma 2003)


@dataclass(frozen=True)
class Suggestion:
    """One candidate colour.

    Attributes
    ----------
    rgb : tuple of 3 int
        sRGB 0-255 of the colour at the pixel's (or region's) lightness; ab bins that are
        out of the sRGB gamut at that lightness are drawn with their chroma reduced (hue kept).
    hex : str
        ``"#rrggbb"`` of ``rgb``.
    probability : float
        Probability mass of the chosen bin plus the neighbouring bins merged into it.
    ab : tuple of 2 float
        Lab a, b of the chosen bin's centre (the class the network predicts).
    bins : tuple of int
        Indices into :func:`tinct.color.gamut.ab_bins` of the chosen bin (first) and of
        the bins merged into it.
    """

    rgb: tuple[int, int, int]
    hex: str
    probability: float
    ab: tuple[float, float]
    bins: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready dict (the ``candidates`` items of ``suggestions.json``)."""
        return {"hex": self.hex, "rgb": list(self.rgb), "ab": [round(v, 1) for v in self.ab],
                "probability": round(self.probability, 4)}


@lru_cache(maxsize=1)
def _neighbours() -> np.ndarray:
    """(Q, Q) bool: bins that are 8-neighbours on the ab grid (not the bin itself)."""
    bins = ab_bins()
    d = np.abs(bins[:, None, :] - bins[None, :, :]).max(axis=-1)
    return (d > 0) & (d <= GRID * 1.01)


def _render(light: float) -> np.ndarray:
    """sRGB 0-255 (Q, 3) uint8 of every ab bin at lightness ``light`` (chroma clipped to gamut)."""
    bins = ab_bins()
    lab = np.concatenate([np.full((len(bins), 1), light, np.float32), bins], axis=1)
    return (lab_to_rgb(clip_ab_to_gamut(lab)) * 255 + 0.5).astype(np.uint8)


def top_colours(prob: np.ndarray, light: float, k: int) -> list[Suggestion]:
    """Up to ``k`` distinct candidate colours of one distribution over the ab bins.

    Parameters
    ----------
    prob : ndarray, shape (Q,)
        Probabilities over :func:`tinct.color.gamut.ab_bins` (summing to 1).
    light : float
        Lab L (0-100) at which the colours are drawn.
    k : int
        Number of suggestions; fewer come back only when the distribution has fewer
        distinct colours at this lightness (near L = 0 or 100 everything is black or white).

    Returns
    -------
    list of Suggestion, most probable first.
    """
    prob = np.asarray(prob, np.float64)
    bins, near = ab_bins(), _neighbours()
    if prob.shape != (len(bins),):
        raise ValueError(f"prob must have shape ({len(bins)},), got {prob.shape}")
    rgb = _render(float(np.clip(light, 0, 100)))
    lab = rgb_to_lab(rgb)
    owner = np.full(len(bins), -1)
    chosen: list[int] = []
    for b in np.argsort(-prob, kind="stable"):
        if len(chosen) == k:
            break
        if owner[b] >= 0:  # a neighbour of a more probable chosen bin
            continue
        # renders as a colour already offered: out-of-gamut bins shrink onto the same colours
        twin = next((c for c in chosen if np.linalg.norm(lab[b] - lab[c]) < JND), None)
        if twin is not None:
            owner[b] = twin
            continue
        chosen.append(int(b))
        owner[b] = b
        owner[near[b] & (owner < 0)] = b
    out = []
    for c in chosen:
        members = np.flatnonzero(owner == c)
        members = np.concatenate([[c], members[members != c]])
        r, g, bl = (int(v) for v in rgb[c])
        out.append(Suggestion((r, g, bl), f"#{r:02x}{g:02x}{bl:02x}", float(prob[members].sum()),
                              (float(bins[c, 0]), float(bins[c, 1])), tuple(int(m) for m in members)))
    out.sort(key=lambda s: -s.probability)
    return out


def _coordinate(value: float, name: str, limit: int, side: str) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or not 0 <= v < limit:
        raise ValueError(f"{name}={value} is outside the image ({side} {limit}: need 0 <= {name} < {limit})")
    return int(math.floor(v))


def suggest_colors(image: np.ndarray, x: float, y: float, *, k: int = 5, model: str = "default",
                   size: int = DEFAULT_SIZE, radius: int = 0,
                   reference: np.ndarray | None = None, levels: bool = False,
                   balance: float = DEFAULT_BALANCE) -> list[Suggestion]:
    """The ``k`` most likely distinct colours the network sees at pixel (x, y).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C in 1-4
        The photo (uint8, uint16 or float in [0, 1]); a colour photo is reduced to its
        lightness first.
    x, y : int
        Column and row of the pixel, ``0 <= x < W``, ``0 <= y < H`` (fractional
        coordinates are floored).
    k : int
        Number of suggestions (>= 1).
    model : str
        "default" (the shipped network) or the path of a weight file.
    size : int
        Short side of the network's working resolution.
    radius : int
        0: the distribution of the network cell that holds the pixel (one cell covers
        4 x 4 working pixels). > 0: the mean distribution of the cells that the box of
        ``2 * radius + 1`` pixels around (x, y) overlaps, and colours drawn at the box's
        mean lightness.
    reference : ndarray, optional
        A colour photo whose palette steers the suggestions, as it steers
        ``tinct.colorize(..., reference=...)``: the training prior in the distribution is
        swapped for the reference's colour histogram (``balance`` then does not apply: the
        reference's palette replaces the whole prior).
    levels, balance : optional
        As in :func:`tinct.colorize`.

    Returns
    -------
    list of Suggestion
        Most probable first, probabilities summing to at most 1, distinct ``hex`` values;
        ``k`` of them except at extreme lightness (see :func:`top_colours`).

    Raises
    ------
    ValueError
        For x or y outside the image, k < 1, radius < 0, or an invalid image.

    Notes
    -----
    The network's logits for the last few photos are cached (keyed by a hash of the
    photo's bytes, the model and the size), so further clicks on the same photo cost
    about a millisecond instead of a network run. :func:`tinct.interpret.clear_cache`
    empties the cache.

    Examples
    --------
    >>> import skimage.data
    >>> from tinct.interpret import suggest_colors
    >>> best = suggest_colors(skimage.data.camera(), 250, 60, k=3)  # the sky
    >>> len(best), best[0].hex.startswith("#")
    (3, True)
    """
    image = np.asarray(image)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be an integer >= 0, got {radius!r}")
    if image.ndim not in (2, 3) or min(image.shape[:2], default=0) < 1:
        prepare(image)  # raises the usual error for a bad layout
    height, width = image.shape[:2]
    col = _coordinate(x, "x", width, "width")
    row = _coordinate(y, "y", height, "height")
    logits = cached_logits(image, model=model, size=size, levels=levels,
                           balance=0.0 if reference is not None else balance)
    grid = logits.shape[1:]
    shift: np.ndarray | float = 0.0
    if reference is not None:
        from tinct.guide.reference import reference_shift

        shift = reference_shift(reference, model=model)[:, None]
    if radius == 0:
        r, c = grid_index(col, row, (height, width), grid)
        prob = np.exp(log_probabilities(logits[:, r, c, None] + shift))[:, 0]
        light = float(prepare(image[row:row + 1, col:col + 1]).light[0, 0])
    else:
        x0, y0 = max(0, col - radius), max(0, row - radius)
        x1, y1 = min(width, col + radius + 1), min(height, row + radius + 1)
        mask = grid_box((x0, y0, x1, y1), (height, width), grid)
        prob = np.exp(log_probabilities(logits[:, mask] + shift, axis=0)).mean(axis=1)
        light = float(prepare(image[y0:y1, x0:x1]).light.mean())
    return top_colours(prob, light, int(k))
