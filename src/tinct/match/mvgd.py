"""Multivariate Gaussian distribution (MVGD) transfer with a Cholesky map.

``T(x) = mu_r + L_r L_s^-1 (x - mu_s)`` where ``S = L L^T`` are Cholesky factors of the
source and reference RGB covariances. Like MKL it matches mean and covariance exactly
(``T`` whitens the source, then colours the white noise with the reference's covariance)
but it is not the least-displacement map: the result depends on the channel order (R first)
and can rotate hues more than :mod:`tinct.match.mkl`, which is usually preferred. Eigenvalues
are floored at ``1e-6`` like in MKL so singular (constant) images work.

References
----------
.. [1] F. Pitie, A. Kokaram, "The linear Monge-Kantorovitch linear colour mapping for
   example-based colour transfer", CVMP 2007, section 2 (the family of linear maps
   ``A S_s A^T = S_r``; Cholesky and square-root solutions).
.. [2] X. Xiao, L. Ma, "Color transfer in correlated color space", ACM VRCIA 2006.
"""

from __future__ import annotations

import numpy as np

from tinct.match._core import ColorSet
from tinct.match.mkl import AffineMap, regularize

__all__ = ["fit", "mvgd_matrix"]


def mvgd_matrix(cov_s: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    """``L_r L_s^-1`` from Cholesky factors of the (regularised) covariances."""
    ls = np.linalg.cholesky(regularize(cov_s))
    lr = np.linalg.cholesky(regularize(cov_r))
    return lr @ np.linalg.inv(ls)


def fit(colors: ColorSet, palette, rng=None) -> AffineMap:
    """Fit the Cholesky MVGD map from the colours of the source to the palette."""
    mu_s, cov_s = colors.mean_cov()
    return AffineMap(mvgd_matrix(cov_s, palette.cov), mu_s, palette.mean)
