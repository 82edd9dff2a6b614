"""Edge-aware upsampling of chroma with the full-resolution lightness as guide.

The network predicts ab at a quarter of its working resolution. Bilinear upsampling
would smear colour across edges (lips onto teeth); the guided filter instead fits, in
every low-resolution window, a local linear model ``ab = A * L + B`` and evaluates it
on the full-resolution L, so chroma edges snap to luminance edges. Coefficients are
computed at low resolution and upsampled (the "fast guided filter"), so the
full-resolution cost is one multiply-add per pixel and channel.

References
----------
.. [1] K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013.
.. [2] K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

__all__ = ["resize_plane", "guided_upsample"]


def resize_plane(plane: np.ndarray, size: tuple[int, int], *, resample: str = "bilinear") -> np.ndarray:
    """Resize a float 2-D array to ``size = (height, width)`` (PIL's C resampler).

    ``resample`` is "bilinear" (upsampling) or "box" (area average, downsampling).
    """
    if plane.ndim != 2:
        raise ValueError(f"plane must be 2-D, got shape {plane.shape}")
    h, w = size
    if plane.shape == (h, w):
        return plane.astype(np.float32, copy=True)
    mode = {"bilinear": Image.Resampling.BILINEAR, "box": Image.Resampling.BOX}[resample]
    return np.array(Image.fromarray(plane.astype(np.float32), mode="F").resize((w, h), mode))


def guided_upsample(ab_lo: np.ndarray, light_lo: np.ndarray, light: np.ndarray, *, radius: int = 2,
                    eps: float = 4.0) -> np.ndarray:
    """Upsample ab to the size of ``light`` guided by it (fast guided filter).

    Parameters
    ----------
    ab_lo : ndarray, shape (h, w, 2)
        Low-resolution chroma.
    light_lo : ndarray, shape (h, w)
        Lightness (0-100) at the same low resolution, i.e. ``light`` area-downsampled.
    light : ndarray, shape (H, W)
        Full-resolution lightness (0-100), the guide.
    radius : int
        Window radius in low-resolution pixels.
    eps : float
        Regulariser in L units squared: edges weaker than about sqrt(eps) L are smoothed
        over, stronger ones are followed.

    Returns
    -------
    ab : ndarray, shape (H, W, 2), float32
    """
    if ab_lo.shape[:2] != light_lo.shape or ab_lo.shape[-1] != 2:
        raise ValueError(f"ab_lo {ab_lo.shape} must be (h, w, 2) matching light_lo {light_lo.shape}")
    size = 2 * radius + 1

    def box(x: np.ndarray) -> np.ndarray:
        return uniform_filter(x, size=size, mode="reflect")

    guide = light_lo.astype(np.float32)
    mean_i = box(guide)
    var_i = box(guide * guide) - mean_i**2
    out = np.empty(light.shape + (2,), np.float32)
    for c in range(2):
        p = ab_lo[..., c].astype(np.float32)
        mean_p = box(p)
        cov = box(guide * p) - mean_i * mean_p
        a = cov / (var_i + eps)
        b = mean_p - a * mean_i
        a_up = resize_plane(box(a), light.shape)
        b_up = resize_plane(box(b), light.shape)
        np.multiply(a_up, light, out=a_up)
        np.add(a_up, b_up, out=out[..., c])
    return out
