"""Quantized ab colour space for colorization as classification (Zhang et al. 2016).

The ab plane is cut into 10 x 10 cells; a cell is a class when *any* of its points is
an sRGB colour for some lightness L (this gives Zhang's 313 classes; testing only the
cell centres would give fewer). Targets are soft-encoded over the nearest cells,
predictions are decoded with the annealed mean, and rare colours are up-weighted in
the loss by class rebalancing.

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016,
   sections 3.1 (soft encoding), 3.2 (class rebalancing), 3.3 (annealed mean).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from tinct.color.lab import gamut_mask, rgb_to_lab

__all__ = [
    "GRID",
    "ab_bins",
    "soft_encode",
    "nearest_bin",
    "annealed_mean",
    "ab_histogram",
    "smooth_prior",
    "rebalance_weights",
    "clip_ab_to_gamut",
]

GRID = 10.0  # ab cell size (Lab units)
_AB_MAX = 110  # all sRGB cells have |a|, |b| <= 110


@lru_cache(maxsize=1)
def ab_bins() -> np.ndarray:
    """Centres of the in-gamut ab cells, shape (Q, 2), float32.

    A cell ``[a-5, a+5) x [b-5, b+5)`` is kept when some sRGB colour falls in it. The ab
    footprint of the sRGB solid is the footprint of its surface, so sampling the six
    faces of the RGB cube (257 x 257 points each) finds every such cell: Q = 262.
    Zhang et al.'s 313 classes also hold cells outside sRGB; we derive ours from sRGB.
    """
    t = np.linspace(0.0, 1.0, 257)
    u, v = (x.ravel() for x in np.meshgrid(t, t, indexing="ij"))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            cols = [u, v]
            cols.insert(axis, np.full_like(u, value))
            faces.append(np.stack(cols, axis=-1))
    ab = rgb_to_lab(np.concatenate(faces), dtype=np.float64)[:, 1:]
    cells = np.unique(np.floor(ab / GRID + 0.5).astype(int), axis=0)
    return (cells * GRID).astype(np.float32)


@lru_cache(maxsize=1)
def _tree() -> cKDTree:
    return cKDTree(ab_bins())


def nearest_bin(ab: np.ndarray) -> np.ndarray:
    """Index of the nearest ab bin for each colour, shape (..., 2) -> (...), int64."""
    ab = np.asarray(ab, np.float32)
    _, idx = _tree().query(ab.reshape(-1, 2), k=1)
    return idx.reshape(ab.shape[:-1]).astype(np.int64)


def soft_encode(ab: np.ndarray, *, k: int = 5, sigma: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Soft-encode ab colours over their ``k`` nearest bins with a Gaussian kernel.

    Parameters
    ----------
    ab : ndarray, shape (..., 2)
    k : int
        Number of nearest bins that share the mass (Zhang et al. use 5).
    sigma : float
        Gaussian width in ab units (5 in the paper).

    Returns
    -------
    index : ndarray, shape (..., k), int64
        Bin indices, nearest first.
    weight : ndarray, shape (..., k), float32
        Weights summing to 1 over the last axis.
    """
    ab = np.asarray(ab, np.float32)
    if ab.shape[-1] != 2:
        raise ValueError(f"ab must have 2 channels in its last axis, got shape {ab.shape}")
    dist, idx = _tree().query(ab.reshape(-1, 2), k=k)
    dist = dist.reshape(-1, k)
    # Subtract the nearest distance before exponentiating: far-away colours would underflow.
    w = np.exp(-(dist**2 - dist[:, :1] ** 2) / (2 * sigma**2)).astype(np.float32)
    w /= w.sum(axis=1, keepdims=True)
    shape = ab.shape[:-1] + (k,)
    return idx.reshape(shape).astype(np.int64), w.reshape(shape)


def annealed_mean(logits: np.ndarray, *, temperature: float = 0.38, axis: int = -1) -> np.ndarray:
    """Decode per-pixel bin scores to ab with the annealed mean (Zhang et al. 2016, eq. 5).

    ``H(Z) = E[f_T(Z)]`` with ``f_T(z) = exp(log z / T) / sum exp(log z / T)``; on logits
    that is ``softmax(logits / T)``. T = 1 is the mean, T -> 0 the mode.

    Parameters
    ----------
    logits : ndarray, shape (..., Q) (or Q along ``axis``)
        Unnormalised log-probabilities (log-probabilities work too).
    temperature : float
        T > 0; 0.38 is the paper's choice, 1 the plain mean, above 1 flatter still.

    Returns
    -------
    ab : ndarray, shape (..., 2), float32
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = np.moveaxis(np.asarray(logits, np.float32), axis, -1) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return p @ ab_bins()


def ab_histogram(ab: np.ndarray) -> np.ndarray:
    """Counts of colours per bin (nearest bin), shape (..., 2) -> (Q,), float64."""
    return np.bincount(nearest_bin(ab).ravel(), minlength=len(ab_bins())).astype(np.float64)


def smooth_prior(counts: np.ndarray, *, sigma: float = 5.0) -> np.ndarray:
    """Bin counts -> a colour distribution smoothed with a Gaussian of ``sigma`` ab units.

    Smoothing happens on the 2-D ab grid; the result (Q,) sums to 1.
    """
    bins = ab_bins()
    counts = np.asarray(counts, np.float64)
    if counts.shape != (len(bins),):
        raise ValueError(f"counts must have shape ({len(bins)},), got {counts.shape}")
    if counts.sum() <= 0:
        raise ValueError("counts must not be all zero")
    ij = np.round((bins + _AB_MAX) / GRID).astype(int)
    size = 2 * _AB_MAX // int(GRID) + 1
    grid = np.zeros((size, size))
    grid[ij[:, 0], ij[:, 1]] = counts / counts.sum()
    prior = gaussian_filter(grid, sigma / GRID, mode="constant")[ij[:, 0], ij[:, 1]]
    return prior / prior.sum()


def rebalance_weights(counts: np.ndarray, *, lam: float = 0.5, sigma: float = 5.0) -> np.ndarray:
    """Class-rebalancing weights from bin counts (Zhang et al. 2016, eq. 4).

    The empirical prior is smoothed with a Gaussian of ``sigma`` ab units on the grid,
    mixed with a uniform distribution by ``lam``, inverted and normalised so that the
    expected weight under the prior is 1.

    Returns
    -------
    weights : ndarray, shape (Q,), float32
    """
    prior = smooth_prior(counts, sigma=sigma)
    w = 1.0 / ((1 - lam) * prior + lam / len(prior))
    w /= (prior * w).sum()
    return w.astype(np.float32)


def clip_ab_to_gamut(lab: np.ndarray, *, steps: int = 8) -> np.ndarray:
    """Scale each pixel's chroma down until its Lab colour is inside sRGB.

    Hue and lightness are kept; only out-of-gamut pixels change. Bisection on the
    chroma scale, ``steps`` halvings (8 gives < 0.4% chroma error).

    Parameters
    ----------
    lab : ndarray, shape (..., 3)

    Returns
    -------
    lab : ndarray, shape (..., 3), float32
    """
    lab = np.asarray(lab, np.float32)
    out = lab.copy()
    bad = ~gamut_mask(lab, tol=1e-4)
    if not bad.any():
        return out
    sub = lab[bad]
    lo = np.zeros(len(sub), np.float32)
    hi = np.ones(len(sub), np.float32)
    for _ in range(steps):
        mid = (lo + hi) / 2
        trial = np.concatenate([sub[:, :1], sub[:, 1:] * mid[:, None]], axis=1)
        ok = gamut_mask(trial, tol=1e-4)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    out[bad, 1:] = sub[:, 1:] * lo[:, None]
    return out
