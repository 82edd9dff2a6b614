"""Sliced optimal transport (SOT) colour transfer.

The sliced Wasserstein flow of Rabin et al. [1]_ (see also Bonneel et al. [2]_): repeat

1. draw a random orthonormal basis of directions,
2. along each direction solve the 1-D optimal transport exactly by sorting (the monotone
   rearrangement: the k-th smallest source projection goes to the reference's quantile of the
   same rank),
3. move the sample by ``step`` times that displacement.

It is fitted on a random sample of ``sample_size`` source pixels against the palette's pixel
sample. Unlike :mod:`tinct.match.idt` (Pitie's histogram CDFs with 300 bins) every 1-D map here is
summarised by ``knots`` quantiles (sorting, no binning), so the learnt per-iteration maps are
smooth monotone piecewise-linear functions; they are then applied to every pixel (with end-point
shifts outside the sampled range), giving a continuous map of the whole image.

References
----------
.. [1] J. Rabin, G. Peyre, J. Delon, M. Bernot, "Wasserstein barycenter and its application to
   texture mixing", Scale Space and Variational Methods in Computer Vision (SSVM) 2011, 435-446.
.. [2] N. Bonneel, J. Rabin, G. Peyre, H. Pfister, "Sliced and Radon Wasserstein barycenters of
   measures", Journal of Mathematical Imaging and Vision 51(1), 22-45, 2015.
"""

from __future__ import annotations

import numpy as np

from tinct.match._core import ColorSet, mix3, rotation
from tinct.match.idt import BANDWIDTH, Map1D, SlicedMap, dithered_sample

__all__ = ["fit"]

ITERATIONS = 20
KNOTS = 64
STEP = 1.0
SAMPLE_SIZE = 100_000


def _quantiles(sorted_a: np.ndarray, probs: np.ndarray) -> np.ndarray:
    pos = probs * (sorted_a.size - 1)
    return np.interp(pos, np.arange(sorted_a.size), sorted_a)


def match_1d(u: np.ndarray, v: np.ndarray, knots: int = KNOTS) -> tuple[np.ndarray, np.ndarray]:
    """Quantile knots ``(Q_u(p), Q_v(p))`` of the 1-D OT map from ``u`` to ``v`` (strictly increasing)."""
    p = np.linspace(0, 1, knots)
    xk = _quantiles(np.sort(u), p)
    yk = _quantiles(np.sort(v), p)
    # tied source quantiles (a spike in the source) go to the mean of their reference quantiles
    start = np.concatenate([[True], np.diff(xk) > 1e-7])
    group = np.cumsum(start) - 1
    yk = np.bincount(group, weights=yk) / np.bincount(group)
    return xk[start].astype(np.float32), yk.astype(np.float32)


def fit(colors: ColorSet, palette, rng: np.random.Generator, *, iterations: int = ITERATIONS,
        knots: int = KNOTS, step: float = STEP, sample_size: int = SAMPLE_SIZE,
        bandwidth: float = BANDWIDTH) -> SlicedMap:
    """Fit the sliced-OT flow on a dithered pixel sample of the source (as :func:`tinct.match.idt.fit`
    does, and for the same reason) against the palette's sample."""
    x = dithered_sample(colors, sample_size, rng, bandwidth)  # (3, n)
    y = np.array(palette.sample.T, dtype=np.float32, order="C")
    steps = []
    d = np.empty_like(x)
    for _ in range(iterations):
        r = rotation(rng).astype(np.float32)
        xr, yr = mix3(r, x), mix3(r, y)
        maps = []
        for j in range(3):
            m = Map1D.from_knots(*match_1d(xr[j], yr[j], knots))
            d[j] = m(xr[j]) - xr[j]
            maps.append(m)
        x += np.float32(step) * mix3(r.T, d)
        steps.append((r, maps))
    return SlicedMap(steps, step=step)
