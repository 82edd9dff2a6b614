"""Reference-based colorization: the reference photo's palette becomes the colour prior.

The network outputs ``p(q | x)``, a posterior that carries the colour prior of its
training photos, ``p(q)``. Given a reference photo we swap that prior for the
reference's colour histogram ``h_ref(q)`` (Bayes' rule with a new prior):

    p'(q | x)  proportional to  p(q | x) * (h_ref(q) + eps) / (p(q) + eps)^gamma

so colours the reference does not contain are suppressed and its colours are preferred
wherever the photo's content allows them. ``gamma < 1`` keeps part of the training
prior (a full division over-amplifies rare colours). Both histograms are smoothed on the
ab grid as the training prior is (sigma = 5).

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016 (the
   per-pixel colour distribution and its prior).
.. [2] R. Zhang, J.-Y. Zhu et al., "Real-Time User-Guided Image Colorization with Learned
   Deep Priors", SIGGRAPH 2017 (global histogram hints as a conditioning signal).
"""

from __future__ import annotations

import numpy as np

from tinct.color.gamut import ab_bins, ab_histogram, smooth_prior
from tinct.color.lab import rgb_to_lab

__all__ = ["reference_histogram", "reweight_by_reference", "match_reference_chroma"]

# Half-strength chroma histogram matching after the prior swap: the network decides where
# colours go, the reference how much of each there is. Chosen on training photos (bsds500,
# reference = another crop of the same scene): mean ab error 10.5 with the prior swap alone,
# 9.5 with this step, 10.2 for plain MKL transfer.
CHROMA_MATCH_STRENGTH = 0.5


def reference_histogram(reference: np.ndarray, *, max_pixels: int = 200_000, seed: int = 0) -> np.ndarray:
    """Smoothed ab-bin distribution of a colour photo, shape (Q,), sums to 1."""
    ref = np.asarray(reference)
    if ref.ndim != 3 or ref.shape[-1] not in (3, 4):
        raise ValueError(f"reference must be an (H, W, 3|4) colour photo, got shape {ref.shape}")
    flat = ref[..., :3].reshape(-1, 3)
    if len(flat) > max_pixels:
        flat = flat[np.random.default_rng(seed).choice(len(flat), max_pixels, replace=False)]
    return smooth_prior(ab_histogram(rgb_to_lab(flat)[:, 1:]))


def reference_shift(reference: np.ndarray, *, model: str = "default", gamma: float = 0.5,
                    eps: float | None = None) -> np.ndarray:
    """Per-bin log-weights (Q,) that swap the training prior for the reference's palette:
    ``log(h_ref + eps) - gamma * log(prior + eps)``, added to the network's logits."""
    from tinct.colorizer import log_prior
    from tinct.models._weights import colour_prior

    eps = 1e-3 / len(ab_bins()) if eps is None else eps
    counts = colour_prior(model)
    shift = np.log(reference_histogram(reference) + eps)
    if counts is not None:
        shift -= gamma * log_prior(counts, eps=eps)
    return shift.astype(np.float32)


def reweight_by_reference(logits: np.ndarray, reference: np.ndarray, *, model: str = "default",
                          gamma: float = 0.5, eps: float | None = None) -> np.ndarray:
    """Logits (Q, h, w) with the training prior swapped for the reference's palette."""
    q = len(ab_bins())
    if logits.shape[0] != q:
        raise ValueError(f"logits must have {q} bins in axis 0, got shape {logits.shape}")
    return logits + reference_shift(reference, model=model, gamma=gamma, eps=eps)[:, None, None]


def match_reference_chroma(light: np.ndarray, ab: np.ndarray, reference: np.ndarray, *,
                           strength: float = CHROMA_MATCH_STRENGTH) -> np.ndarray:
    """Move the chroma distribution of (light, ab) part-way to the reference's.

    Per-channel histogram matching in RGB with the lightness kept
    (:func:`tinct.match.transfer` with ``preserve_luminance``), returned as ab.
    """
    from tinct.color.lab import lab_to_rgb
    from tinct.match import transfer

    rgb = lab_to_rgb(np.concatenate([light[..., None], ab], axis=-1))
    matched = transfer(rgb, reference, "hm", preserve_luminance=True, strength=strength)
    return rgb_to_lab(matched)[..., 1:]
