"""Per-channel histogram matching (exact CDF matching).

Each RGB channel of the source is sent through ``F_r^-1(F_s(v))``: ``F_s`` is the source's
empirical CDF and ``F_r^-1`` the reference's inverse CDF, both with the mid-rank convention of
:mod:`tinct.match.palette` (a level with count ``c`` and cumulative count ``C`` sits at
``(C - c / 2) / N``), so a photo matched to itself is unchanged and a constant photo goes to the
reference median rather than its maximum. Integer photos are histogrammed exactly with
``bincount`` (no sort of the pixels) and mapped through one look-up table per channel; floats use
65536-bin histograms whose bin means keep the exact values of 8/16-bit data.

The output's per-channel histograms match the reference's; colours (the joint distribution) do
not, which is why the compounds ``hm-mkl-hm`` / ``hm-mvgd-hm`` exist.

References
----------
.. [1] R. C. Gonzalez, R. E. Woods, "Digital Image Processing", 4th ed., Pearson 2018,
   section 3.3 (histogram matching / specification).
.. [2] E. L. Hall, "Almost uniform distributions for computer image enhancement",
   IEEE Transactions on Computers C-23(2), 207-208, 1974.
"""

from __future__ import annotations

import numpy as np

from tinct.match._core import ColorMap, ColorSet

__all__ = ["fit", "HistogramMap"]


class HistogramMap(ColorMap):
    """Per-channel monotone piecewise-linear map through ``(levels[c], targets[c])`` knots."""

    separable = True

    def __init__(self, knots: list[tuple[np.ndarray, np.ndarray]]):
        self.knots = knots

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        out = np.empty(x.shape, dtype=np.float32)
        for c, (lv, tg) in enumerate(self.knots):
            out[:, c] = np.interp(x[:, c], lv, tg) if lv.size > 1 else tg[0]
        return out


def fit(colors: ColorSet, palette, rng=None) -> HistogramMap:
    """Fit per-channel CDF matching of ``colors`` onto the palette's CDFs."""
    knots = []
    for c in range(3):
        levels, counts = colors.channel_levels(c)
        cum = np.cumsum(counts)
        probs = (cum - counts / 2) / cum[-1]
        ref_values, ref_probs = palette.cdf[c]
        targets = np.interp(probs, ref_probs, ref_values.astype(np.float64)).astype(np.float32)
        knots.append((levels.astype(np.float32), targets))
    return HistogramMap(knots)
