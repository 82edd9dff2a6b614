"""Monge-Kantorovich linear colour transfer (MKL).

The affine map ``T(x) = mu_r + A (x - mu_s)`` with

    A = S_s^-1/2 (S_s^1/2 S_r S_s^1/2)^1/2 S_s^-1/2

is the optimal-transport (least total displacement) map between the Gaussians
N(mu_s, S_s) and N(mu_r, S_r) [1]_: it gives the source the reference's mean and covariance
exactly and, among all such linear maps, changes the colours least. Square roots are symmetric
ones from eigendecompositions (float64, 3 x 3). Covariance eigenvalues are floored at
``1e-6`` (an RGB standard deviation of 0.001), so constant images, whose covariance is singular,
map to the reference mean instead of failing.

References
----------
.. [1] F. Pitie, A. Kokaram, "The linear Monge-Kantorovitch linear colour mapping for
   example-based colour transfer", IET European Conference on Visual Media Production
   (CVMP), 2007.
.. [2] I. Olkin, F. Pukelsheim, "The distance between two random vectors with given
   dispersion matrices", Linear Algebra and its Applications 48, 257-263, 1982.
"""

from __future__ import annotations

import numpy as np

from tinct.match._core import ColorMap, ColorSet, mix3

__all__ = ["fit", "mkl_matrix", "AffineMap"]

EIG_FLOOR = 1e-6


def _sqrtm(c: np.ndarray, floor: float = 0.0, inverse: bool = False) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2)
    w = np.maximum(w, floor)
    d = 1 / np.sqrt(w) if inverse else np.sqrt(w)
    return (v * d) @ v.T


def regularize(cov: np.ndarray) -> np.ndarray:
    """Covariance with its eigenvalues floored at :data:`EIG_FLOOR`."""
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return (v * np.maximum(w, EIG_FLOOR)) @ v.T


def mkl_matrix(cov_s: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    """The MKL matrix ``A`` with ``A cov_s A = cov_r`` (symmetric positive definite)."""
    cs, cr = regularize(cov_s), regularize(cov_r)
    s_half = _sqrtm(cs)
    s_ihalf = _sqrtm(cs, inverse=True)
    mid = _sqrtm(s_half @ cr @ s_half)
    a = s_ihalf @ mid @ s_ihalf
    return (a + a.T) / 2


class AffineMap(ColorMap):
    """``x -> A x + b`` on RGB rows (float32)."""

    cheap = True

    def __init__(self, a: np.ndarray, mu_s: np.ndarray, mu_r: np.ndarray):
        self.matrix = np.asarray(a, dtype=np.float64)
        self.offset = np.asarray(mu_r, dtype=np.float64) - self.matrix @ np.asarray(mu_s, dtype=np.float64)
        self._at = self.matrix.T.astype(np.float32)
        self._b = self.offset.astype(np.float32)
        self.identity = bool(np.allclose(self.matrix, np.eye(3), rtol=0, atol=1e-9)
                             and np.allclose(self.offset, 0, rtol=0, atol=1e-9))

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        return self.matrix, self.offset

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.identity:
            return x.copy()
        return mix3(self._at.T, np.ascontiguousarray(x.T), self._b).T


def fit(colors: ColorSet, palette, rng=None) -> AffineMap:
    """Fit the MKL map from the colours of the source to the palette of the reference."""
    mu_s, cov_s = colors.mean_cov()
    return AffineMap(mkl_matrix(cov_s, palette.cov), mu_s, palette.mean)
