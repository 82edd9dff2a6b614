"""Reinhard colour transfer: per-channel mean and standard deviation matching.

Two colour spaces:

* ``reinhard``: the decorrelated l-alpha-beta space of Ruderman et al. as used by Reinhard
  et al. [1]_: RGB -> LMS (the paper's matrix), log10, then the orthogonal transform
  ``l = (L + M + S) / sqrt(3)``, ``alpha = (L + M - 2 S) / sqrt(6)``, ``beta = (L - M) / sqrt(2)``.
  The matrix is applied to the sRGB values as they are (the paper does not linearise; neither do
  color-matcher and most ports). RGB values below 1/255 are raised to 1/255 before the logarithm
  (log 0 is undefined and the deepest shadows would otherwise dominate the statistics); the map is
  then applied as a displacement, so identical statistics give back the input exactly.
* ``reinhard-lab``: the same mean/std transfer in CIE Lab (D65), via :mod:`tinct.color.lab`.

References
----------
.. [1] E. Reinhard, M. Ashikhmin, B. Gooch, P. Shirley, "Color Transfer between Images",
   IEEE Computer Graphics and Applications 21(5), 34-41, 2001.
.. [2] D. L. Ruderman, T. W. Cronin, C.-C. Chiao, "Statistics of cone responses to natural
   images: implications for visual coding", J. Opt. Soc. Am. A 15(8), 2036-2045, 1998.
"""

from __future__ import annotations

import numpy as np

from tinct.color.lab import lab_to_rgb, rgb_to_lab
from tinct.match._core import ColorMap, ColorSet, mix3

__all__ = ["rgb_to_lalphabeta", "lalphabeta_to_rgb", "fit", "fit_lab"]

# RGB -> LMS, Reinhard et al. 2001, eq. (1) (RGB -> XYZ -> LMS combined).
_RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)
# log LMS -> l alpha beta, Reinhard et al. 2001, eq. (4): diag(1/sqrt3, 1/sqrt6, 1/sqrt2) @ C.
_LOG_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]])
_LAB_TO_LOG = np.linalg.inv(_LOG_TO_LAB)
_FLOOR = np.float32(1 / 255)  # smallest RGB value entering the logarithm
_STD_FLOOR = 1e-6  # a constant channel has std 0: floor it (its deviations are 0 anyway)


def _mat(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``x @ m.T`` for (..., 3) float32 ``x`` without a BLAS call (see :func:`mix3`)."""
    flat = x.reshape(-1, 3)
    return mix3(m, np.ascontiguousarray(flat.T)).T.reshape(x.shape)


def rgb_to_lalphabeta(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3) -> Reinhard's l-alpha-beta (float32).

    Examples
    --------
    >>> rgb_to_lalphabeta(np.ones(3, np.float32)).round(2)  # white: log LMS ~ 0 (rows sum to ~1)
    array([-0.,  0.,  0.], dtype=float32)
    """
    x = np.maximum(np.asarray(rgb, dtype=np.float32), _FLOOR)
    return _mat(np.log10(_mat(x, _RGB_TO_LMS)), _LOG_TO_LAB)


def lalphabeta_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_lalphabeta` (no clipping, float32)."""
    lms = np.power(np.float32(10), _mat(np.asarray(lab, dtype=np.float32), _LAB_TO_LOG))
    return _mat(lms, _LMS_TO_RGB)


class _MeanStdMap(ColorMap):
    """``space^-1((space(x) - mu_s) * sigma_r / sigma_s + mu_r)`` with a per-channel affine step.

    ``floor``: the space only sees ``max(x, floor)``; what the floor removed is added back, so
    shadows below it keep their differences.
    """

    def __init__(self, fwd, inv, mu_s, sd_s, mu_r, sd_r, floor=None):
        self.fwd, self.inv, self.floor = fwd, inv, floor
        self.scale = (np.asarray(sd_r) / np.maximum(sd_s, _STD_FLOOR)).astype(np.float32)
        self.offset = (np.asarray(mu_r) - np.asarray(mu_s) * self.scale).astype(np.float32)
        self.identity = bool(np.all(self.scale == 1) and np.all(self.offset == 0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.identity:
            return x.copy()
        out = self.inv(self.fwd(x) * self.scale + self.offset)
        if self.floor is not None:
            out += x - np.maximum(x, self.floor)
        return out.astype(np.float32, copy=False)


def fit(colors: ColorSet, palette, rng=None) -> ColorMap:
    """Fit Reinhard's l-alpha-beta mean/std transfer from ``colors`` to ``palette``."""
    mu, cov = colors.mean_cov(rgb_to_lalphabeta)
    return _MeanStdMap(rgb_to_lalphabeta, lalphabeta_to_rgb, mu, np.sqrt(np.maximum(np.diag(cov), 0)),
                       palette.lalphabeta_mean, palette.lalphabeta_std, floor=_FLOOR)


def _lab_inv(lab: np.ndarray) -> np.ndarray:
    return lab_to_rgb(lab, clip=False)


def fit_lab(colors: ColorSet, palette, rng=None) -> ColorMap:
    """Fit the mean/std transfer in CIE Lab from ``colors`` to ``palette``."""
    mu, cov = colors.mean_cov(rgb_to_lab)
    return _MeanStdMap(rgb_to_lab, _lab_inv, mu, np.sqrt(np.maximum(np.diag(cov), 0)),
                       palette.lab_mean, palette.lab_std)
