"""AuC of the cumulative ab-error curve (Zhang et al. 2016), plain and class-rebalanced.

For each pixel the Euclidean distance between predicted and true (a, b) in CIE Lab is
taken; the curve is the (weighted) fraction of pixels whose error is at most t, for
t = 0, 1, ..., 150; AuC is the area under that curve divided by the threshold span, as a
percentage (100 = every pixel exact).

A gray prediction already scores about 88-89 on natural photos, because most pixels have
low chroma. The class-rebalanced variant weights each pixel by the inverse prior
probability of its *true* colour bin (the 262 in-gamut ab bins of
:func:`tinct.color.gamut.ab_bins`), so that every colour class counts equally; the prior
comes from a whole ground-truth set (:func:`count_ab_bins`).

Data-set AuC pools pixels over all images (weights and counts are summed before the
ratio): accumulate per-image curves from :func:`ab_error_curve` and finish with
:func:`auc_from_curves`, or call :func:`auc` on the whole set.

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016,
   section 4.1 and table 1 (AuC, non-rebalanced and rebalanced).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinct.color.gamut import ab_bins, ab_histogram, nearest_bin
from tinct.color.lab import rgb_to_lab
from tinct.metrics._image import as_image_list, check_image, check_pair

__all__ = [
    "THRESHOLDS",
    "ab_error_curve",
    "auc",
    "auc_from_curves",
    "count_ab_bins",
    "inverse_frequency_weights",
]

THRESHOLDS = np.arange(151, dtype=np.float64)  # ab-error thresholds 0, 1, ..., 150 (Lab units)


def _ab(image: np.ndarray) -> np.ndarray:
    """(a, b) of a validated RGB image, shape (H*W, 2), float64."""
    return rgb_to_lab(image, dtype=np.float64)[..., 1:].reshape(-1, 2)


def _check_thresholds(thresholds: np.ndarray) -> np.ndarray:
    t = np.asarray(thresholds, np.float64)
    if t.ndim != 1 or len(t) < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0) or t[0] < 0:
        raise ValueError(f"thresholds must be >= 2 finite, non-negative, increasing values, got {t.shape} {t}")
    return t


def count_ab_bins(images: np.ndarray | Iterable[np.ndarray]) -> np.ndarray:
    """Pixel counts per ab bin over a set of RGB images (the colour prior of the set).

    Each pixel goes to its nearest bin of :func:`tinct.color.gamut.ab_bins` (Lab D65).

    Parameters
    ----------
    images : ndarray (H, W, 3) or (N, H, W, 3), or an iterable of RGB images
        Ground-truth images; uint8, uint16 or float in [0, 1]. Shapes may differ.

    Returns
    -------
    counts : ndarray, shape (Q,), float64
        Q = ``len(ab_bins())`` (262).

    Examples
    --------
    >>> counts = count_ab_bins(np.full((4, 4, 3), 128, np.uint8))
    >>> counts.shape, float(counts.sum())
    ((262,), 16.0)
    """
    counts = np.zeros(len(ab_bins()), np.float64)
    for image in as_image_list(images, "images"):
        counts += ab_histogram(_ab(check_image(image)))
    return counts


def inverse_frequency_weights(counts: np.ndarray) -> np.ndarray:
    """Per-bin weights ``1 / p(bin)`` from bin counts, normalised to mean 1 under p.

    ``p = counts / counts.sum()``; ``w = 1 / (K p)`` for the K bins with p > 0 and 0 for
    bins with p = 0 (pixels whose true colour falls there are ignored, so build the prior
    from the set you evaluate). Under p every non-empty bin then carries equal total
    weight. This is the pure inverse frequency of Zhang et al.'s rebalanced AuC, not the
    smoothed, uniform-mixed training weights of :func:`tinct.color.gamut.rebalance_weights`.

    Parameters
    ----------
    counts : ndarray, shape (Q,)
        Non-negative counts over :func:`tinct.color.gamut.ab_bins`, e.g. from
        :func:`count_ab_bins`.

    Returns
    -------
    weights : ndarray, shape (Q,), float64
    """
    q = len(ab_bins())
    counts = np.asarray(counts, np.float64)
    if counts.shape != (q,):
        raise ValueError(f"counts must have shape ({q},), got {counts.shape}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)) or counts.sum() <= 0:
        raise ValueError("counts must be finite, non-negative and not all zero")
    p = counts / counts.sum()
    nonzero = p > 0
    w = np.zeros(q, np.float64)
    w[nonzero] = 1.0 / (nonzero.sum() * p[nonzero])
    return w


def ab_error_curve(
    pred: np.ndarray,
    true: np.ndarray,
    *,
    thresholds: np.ndarray = THRESHOLDS,
    bin_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Cumulative (weighted) count of pixels whose ab error is within each threshold.

    Parameters
    ----------
    pred, true : ndarray, shape (H, W, 3)
        Colorized and ground-truth RGB images of the same shape; uint8, uint16 or float
        in [0, 1]. Both go to CIE Lab (D65, float64); the error is
        ``sqrt((a_p - a_t)**2 + (b_p - b_t)**2)`` per pixel (L is not compared).
    thresholds : ndarray, shape (T,), optional
        Increasing error thresholds in Lab units (0, 1, ..., 150 by default).
    bin_weights : ndarray, shape (Q,), optional
        Weight per ab bin; each pixel gets the weight of the nearest bin to its *true*
        ab. None weights every pixel 1. Use :func:`inverse_frequency_weights` for the
        rebalanced AuC.

    Returns
    -------
    curve : ndarray, shape (T,), float64
        ``curve[k]`` = total weight of the pixels with error <= ``thresholds[k]``.
    total : float
        Total weight of the image's pixels (the curve's limit).

    Examples
    --------
    >>> a = np.full((2, 2, 3), 200, np.uint8)
    >>> curve, total = ab_error_curve(a, a)
    >>> float(curve[0]), total
    (4.0, 4.0)
    """
    pred, true = check_pair(pred, true)
    t = _check_thresholds(thresholds)
    ab_true = _ab(true)
    err = np.linalg.norm(_ab(pred) - ab_true, axis=1)
    if bin_weights is None:
        w = np.ones(len(err))
    else:
        bin_weights = np.asarray(bin_weights, np.float64)
        if bin_weights.shape != (len(ab_bins()),) or np.any(bin_weights < 0):
            raise ValueError(f"bin_weights must be ({len(ab_bins())},) non-negative, got {bin_weights.shape}")
        w = bin_weights[nearest_bin(ab_true)]
    # Weighted count at or below each threshold: sort the errors once, cumulate the weights.
    order = np.argsort(err, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(w[order])])
    curve = cum[np.searchsorted(err[order], t, side="right")]
    return curve, float(cum[-1])


def auc_from_curves(
    curves: Iterable[tuple[np.ndarray, float]], *, thresholds: np.ndarray = THRESHOLDS
) -> float:
    """Data-set AuC (percent) from per-image curves of :func:`ab_error_curve`.

    The curves and totals are summed over images (pixels pooled), the fraction
    ``F(t) = curve(t) / total`` is integrated with the trapezoidal rule over the
    thresholds and divided by their span: ``AuC = 100 / (t_max - t_min) * integral F dt``.

    Parameters
    ----------
    curves : iterable of (curve, total)
        Outputs of :func:`ab_error_curve`, all computed with the same ``thresholds``.
    thresholds : ndarray, shape (T,), optional
        The thresholds the curves were computed with.

    Returns
    -------
    float
        AuC in [0, 100].
    """
    t = _check_thresholds(thresholds)
    acc = np.zeros(len(t))
    total = 0.0
    n = 0
    for curve, weight in curves:
        curve = np.asarray(curve, np.float64)
        if curve.shape != t.shape:
            raise ValueError(f"each curve must have the thresholds' shape {t.shape}, got {curve.shape}")
        acc += curve
        total += float(weight)
        n += 1
    if n == 0:
        raise ValueError("curves must hold at least one (curve, total) pair, got none")
    if total <= 0:
        raise ValueError(f"total weight must be > 0, got {total}")
    frac = acc / total
    # Trapezoidal area under F(t), normalised by the threshold span.
    area = np.sum((frac[1:] + frac[:-1]) / 2 * np.diff(t))
    return float(100.0 * area / (t[-1] - t[0]))


def auc(
    preds: np.ndarray | Iterable[np.ndarray],
    trues: np.ndarray | Iterable[np.ndarray],
    *,
    rebalanced: bool = False,
    counts: np.ndarray | None = None,
    thresholds: np.ndarray = THRESHOLDS,
) -> float:
    """AuC (percent) of the cumulative ab-error curve over one image or a set of images.

    Parameters
    ----------
    preds, trues : ndarray (H, W, 3) or (N, H, W, 3), or sequences of RGB images
        Colorized images and their ground truths, paired in order.
    rebalanced : bool, optional
        Weight pixels by the inverse frequency of their true colour bin
        (:func:`inverse_frequency_weights`).
    counts : ndarray, shape (Q,), optional
        Bin counts defining the colour prior for ``rebalanced``; by default
        :func:`count_ab_bins` of ``trues``. Ignored when ``rebalanced`` is False.
    thresholds : ndarray, optional
        0, 1, ..., 150 by default.

    Returns
    -------
    float
        AuC in [0, 100]; 100 when every prediction equals its ground truth.

    Examples
    --------
    >>> a = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    >>> auc(a, a)
    100.0
    """
    preds = as_image_list(preds, "preds")
    trues = as_image_list(trues, "trues")
    if len(preds) != len(trues):
        raise ValueError(f"preds and trues must hold as many images, got {len(preds)} and {len(trues)}")
    weights = None
    if rebalanced:
        weights = inverse_frequency_weights(count_ab_bins(trues) if counts is None else counts)
    pairs = zip(preds, trues, strict=True)
    curves = (ab_error_curve(p, g, thresholds=thresholds, bin_weights=weights) for p, g in pairs)
    return auc_from_curves(curves, thresholds=thresholds)
