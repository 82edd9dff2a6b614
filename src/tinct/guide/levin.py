"""Edge-aware propagation of colour hints over the lightness (Levin et al. 2004).

Neighbouring pixels with similar lightness should have similar chroma. We minimise

    sum_{r~s} w_rs (u_r - u_s)^2 + sum_r lam_r (u_r - t_r)^2

over each chroma channel u, with 8-connected affinities
``w_rs = exp(-(L_r - L_s)^2 / (2 sigma_rs^2))`` where ``sigma_rs^2`` follows the local
lightness variance in 3 x 3 windows (Levin et al.'s choice) with a floor and a cap, so strong
edges stop the colour and texture does not. The affinities read the lightness after a 5 x 5
median filter: thin dark lines (shingles, planks, grain, a print's scratches) would otherwise
cut a wall into strips that a hint cannot cross, while an object's outline survives the median
(a structure 3 grid pixels wide or more, 1.5% of the grid's short side). ``lam`` is large at
hint pixels (near-hard constraints) and small elsewhere, where ``t`` is the network's prediction (a soft data
term). We solve for the change ``d = u - t`` (hint colour minus prediction at hints,
0 as the data target elsewhere), so smoothness acts on the edit, not on the prediction.
The normal equations ``(Lap + diag(lam)) d = lam * (hint - t)`` form a sparse symmetric
positive-definite system: one factorisation serves both channels, and after one more
hint the previous factorisation preconditions a warm-started conjugate-gradient solve,
which converges in a few iterations because the matrix changed in a few diagonal entries.

This is Levin et al.'s objective written with a symmetric graph Laplacian (their
row-normalised ``I - W`` form is not symmetric); the effect is the same edge-aware fill.

References
----------
.. [1] A. Levin, D. Lischinski, Y. Weiss, "Colorization using Optimization",
   ACM SIGGRAPH 2004.
.. [2] R. Zhang, J.-Y. Zhu, P. Isola, X. Geng, A. S. Lin, T. Yu, A. A. Efros,
   "Real-Time User-Guided Image Colorization with Learned Deep Priors", SIGGRAPH 2017.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.ndimage import median_filter, uniform_filter

__all__ = ["affinity_laplacian", "PropagationSolver", "HINT_WEIGHT"]

HINT_WEIGHT = 100.0  # lam at hint pixels: near-hard next to affinities <= 1
_MIN_SIGMA2 = 4.0  # floor on the affinity width (L units^2): flat regions stay connected
# Cap: next to a strong edge the local variance is large, and without a cap the edge
# itself would look like texture (a 50-L step would keep an affinity of 0.02).
_MAX_SIGMA2 = 36.0
TEXTURE_MEDIAN = 5  # median window (grid pixels) applied to L before the affinities


def affinity_laplacian(light: np.ndarray, *, sigma_scale: float = 1.0) -> sp.csr_matrix:
    """Graph Laplacian of 8-connected lightness affinities, shape (h*w, h*w).

    Parameters
    ----------
    light : ndarray, shape (h, w)
        Lab L (0-100) at the resolution of the solve (median-filtered here, see the module).
    sigma_scale : float
        Multiplies the affinity width: larger lets colour cross weaker edges.
    """
    h, w = light.shape
    # Measured with tools/hint_curve.py on held-out training photos (24 photos, 1-50 hints), over
    # the raw lightness: 3 x 3 +0.03 to +0.23 dB, 5 x 5 +0.05 to +0.38, 7 x 7 +0.07 to +0.44 at
    # every hint count; 5 keeps objects 3 px wide (poles, rails) as edges.
    y = median_filter(light.astype(np.float64), TEXTURE_MEDIAN, mode="reflect")
    mean = uniform_filter(y, 3, mode="reflect")
    var = np.maximum(uniform_filter(y * y, 3, mode="reflect") - mean**2, 0)
    sigma2 = np.clip(0.6 * var, _MIN_SIGMA2, _MAX_SIGMA2) * sigma_scale**2
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ys = slice(0, h - dy)
        xs = slice(max(0, -dx), w - max(0, dx))
        yt = slice(dy, h)
        xt = slice(max(0, dx), w + min(0, dx))
        a, b = idx[ys, xs].ravel(), idx[yt, xt].ravel()
        diff2 = (y[ys, xs] - y[yt, xt]).ravel() ** 2
        s2 = 0.5 * (sigma2[ys, xs].ravel() + sigma2[yt, xt].ravel())
        wgt = np.exp(-diff2 / (2 * s2)) / (np.sqrt(2.0) if dx and dy else 1.0)
        rows += [a, b]
        cols += [b, a]
        vals += [wgt, wgt]
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    affinity = sp.csr_matrix((v, (r, c)), shape=(h * w, h * w))
    return (sp.diags(np.asarray(affinity.sum(axis=1)).ravel()) - affinity).tocsr()


@dataclass
class PropagationSolver:
    """Solve the propagation for one photo, fast again after each new hint.

    Parameters
    ----------
    light : (h, w) lightness at the solve resolution.
    data_weight : lam away from hints; smaller lets a hint's colour travel further
        (decay length about 1 / sqrt(data_weight) pixels inside a flat region).
    """

    light: np.ndarray
    data_weight: float = 1e-3
    laplacian: sp.csr_matrix = field(init=False, repr=False)
    _lam: np.ndarray | None = field(default=None, init=False, repr=False)
    _lu: sla.SuperLU | None = field(default=None, init=False, repr=False)
    _last: np.ndarray | None = field(default=None, init=False, repr=False)
    solves: dict = field(default_factory=lambda: {"factorised": 0, "cg": 0}, init=False)

    def __post_init__(self) -> None:
        self.laplacian = affinity_laplacian(self.light)

    def solve(self, hint_mask: np.ndarray, hint_values: np.ndarray) -> np.ndarray:
        """A field (h, w, 2) equal to ``hint_values`` on ``hint_mask``, spread edge-aware and
        decaying to 0 elsewhere (the data term pulls towards 0).

        Solve for the *change* to a prediction (hint colour minus predicted colour) so
        that the prediction itself is never smoothed away.
        """
        h, w = self.light.shape
        if hint_mask.shape != (h, w) or hint_values.shape != (h, w, 2):
            raise ValueError(f"mask {hint_mask.shape} and values {hint_values.shape} must match the "
                             f"solver's grid {(h, w)}")
        lam = np.where(hint_mask.ravel(), HINT_WEIGHT, self.data_weight)
        rhs = np.where(hint_mask[..., None], hint_values, 0).reshape(-1, 2).astype(np.float64) * lam[:, None]
        matrix = (self.laplacian + sp.diags(lam)).tocsc()
        changed = 0 if self._lam is None else int(np.count_nonzero(lam != self._lam))
        if self._lu is not None and 0 < changed <= 400 and self._last is not None:
            # Few diagonal entries changed: the old factorisation is an excellent preconditioner.
            pre = sla.LinearOperator(matrix.shape, matvec=self._lu.solve, dtype=np.float64)
            out = np.empty_like(rhs)
            for c in range(2):
                out[:, c], info = sla.cg(matrix, rhs[:, c], x0=self._last[:, c], M=pre, rtol=1e-6, maxiter=60)
                if info != 0:
                    break
            else:
                self.solves["cg"] += 1
                self._last = out
                return out.reshape(h, w, 2).astype(np.float32)
        if self._lu is None or changed:
            self._lu = sla.splu(matrix)
            self._lam = lam
            self.solves["factorised"] += 1
        out = self._lu.solve(rhs)
        self._last = out
        return out.reshape(h, w, 2).astype(np.float32)
