"""Iterative distribution transfer (IDT): N-dimensional PDF transfer by random rotations.

Pitie, Kokaram and Dahyot's algorithm [1]_ [2]_: repeat

1. rotate the colour space by a random orthonormal basis ``R``,
2. match each of the three 1-D marginals of the source to the reference's (CDF matching on
   histograms of ``bins`` bins over the common range),
3. rotate back.

Each iteration moves the source's 3-D colour distribution towards the reference's; after ~10-20
iterations all marginals along all directions agree (the full distributions match). The maps are
fitted on a random sample of source pixels (``sample_size``) against the reference palette's pixel
sample and stored (rotation plus one monotone piecewise-linear 1-D map per axis), then applied to
every pixel: pixels outside a 1-D map's range are shifted like its end point, so the map is
continuous and defined everywhere. Grain amplification is cured by ``regrain`` [2]_.

References
----------
.. [1] F. Pitie, A. C. Kokaram, R. Dahyot, "N-dimensional probability density function transfer
   and its application to colour transfer", ICCV 2005, 1434-1439.
.. [2] F. Pitie, A. C. Kokaram, R. Dahyot, "Automated colour grading using colour distribution
   transfer", Computer Vision and Image Understanding 107(1-2), 123-137, 2007.
"""

from __future__ import annotations

import numpy as np

from tinct.match._core import ColorMap, ColorSet, rotation

__all__ = ["fit", "SlicedMap", "interp_extrapolate"]

BINS = 300
ITERATIONS = 12
SAMPLE_SIZE = 100_000
_PRIOR = 1e-3  # pseudo-count per bin: keeps CDFs strictly increasing across empty bins


def interp_extrapolate(u: np.ndarray, xk: np.ndarray, yk: np.ndarray) -> np.ndarray:
    """Piecewise-linear ``u -> y`` through the knots, shifted like the end knots outside them."""
    uc = np.clip(u, xk[0], xk[-1])
    return np.interp(uc, xk, yk).astype(np.float32) + (u - uc)


class SlicedMap(ColorMap):
    """Composition of (rotation, three 1-D maps, rotation back) steps with a step size."""

    def __init__(self, steps: list[tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]], step: float = 1.0):
        self.steps = [(np.asarray(r, dtype=np.float32), k) for r, k in steps]
        self.step = np.float32(step)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float32)
        for r, knots in self.steps:
            y = x @ r.T
            d = np.empty_like(y)
            for j, (xk, yk) in enumerate(knots):
                d[:, j] = interp_extrapolate(y[:, j], xk, yk) - y[:, j]
            x += self.step * (d @ r)
        return x


def match_1d(u: np.ndarray, v: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """Knots (at the histogram edges) of the monotone map sending the law of ``u`` to that of ``v``."""
    lo = float(min(u.min(), v.min()))
    hi = float(max(u.max(), v.max()))
    if hi - lo < 1e-6:
        hi = lo + 1e-6
    edges = np.linspace(lo, hi, bins + 1)
    scale = bins / (hi - lo)

    def cdf(a: np.ndarray) -> np.ndarray:
        idx = np.clip(((a - lo) * scale).astype(np.int64), 0, bins - 1)
        h = np.bincount(idx, minlength=bins) + _PRIOR
        return np.concatenate([[0.0], np.cumsum(h)]) / h.sum()

    fu, fv = cdf(u), cdf(v)
    return edges.astype(np.float32), np.interp(fu, fv, edges).astype(np.float32)


def fit(colors: ColorSet, palette, rng: np.random.Generator, *, iterations: int = ITERATIONS,
        bins: int = BINS, sample_size: int = SAMPLE_SIZE) -> SlicedMap:
    """Fit IDT on a pixel sample of the source against the palette's pixel sample."""
    x = colors.sample(sample_size, rng).astype(np.float32)
    y = palette.sample
    steps = []
    for _ in range(iterations):
        r = rotation(rng).astype(np.float32)
        xr, yr = x @ r.T, y @ r.T
        knots = []
        for j in range(3):
            xk, yk = match_1d(xr[:, j], yr[:, j], bins)
            xr[:, j] = np.interp(xr[:, j], xk, yk)
            knots.append((xk, yk))
        x = xr @ r
        steps.append((r, knots))
    return SlicedMap(steps)
