"""Structural similarity (SSIM) on RGB 0-255 with Wang et al.'s Gaussian window.

References
----------
.. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image Quality Assessment:
   From Error Visibility to Structural Similarity", IEEE Trans. Image Processing 13(4),
   600-612, 2004.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from tinct.metrics._image import check_pair, to_rgb255

__all__ = ["ssim"]

_SIGMA = 1.5  # Gaussian window width (pixels), Wang et al. 2004
_TRUNCATE = 3.5  # window radius in sigmas: an 11 x 11 window, as in the reference code
_K1, _K2 = 0.01, 0.03
_RADIUS = int(_TRUNCATE * _SIGMA + 0.5)  # 5


def _blur(a: np.ndarray) -> np.ndarray:
    return gaussian_filter(a, _SIGMA, truncate=_TRUNCATE, mode="reflect")


def ssim(image: np.ndarray, reference: np.ndarray, *, data_range: float = 255.0) -> float:
    """Mean SSIM between a colorized image and its ground truth, averaged over R, G, B.

    Per channel, on the 0-255 scale: local means, variances and covariance are weighted by
    a Gaussian window (sigma = 1.5 px, truncated at 3.5 sigma: 11 x 11), population
    (not sample) statistics, ``C1 = (0.01 L)**2``, ``C2 = (0.03 L)**2`` with L = ``data_range``,

        SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x**2 + mu_y**2 + C1)(s_x**2 + s_y**2 + C2)),

    averaged over the pixels at least 5 px from the border (filters reflect at the edges),
    then over the three channels. This equals
    ``skimage.metrics.structural_similarity(reference, image, channel_axis=2,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``
    on the 0-255 images.

    Parameters
    ----------
    image, reference : ndarray, shape (H, W, 3)
        RGB images of the same shape, H, W >= 11; uint8, uint16 or float in [0, 1].
    data_range : float, optional
        Dynamic range L on the 0-255 scale (255).

    Returns
    -------
    float
        Mean SSIM, at most 1 (identical images give exactly 1).

    Raises
    ------
    ValueError
        When shapes differ, an image is smaller than 11 x 11 or not (H, W, 3).

    Examples
    --------
    >>> a = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    >>> ssim(a, a)
    1.0
    """
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    image, reference = check_pair(image, reference)
    win = 2 * _RADIUS + 1
    if min(image.shape[:2]) < win:
        raise ValueError(f"SSIM needs images of at least {win} x {win} pixels, got {image.shape}")
    x, y = to_rgb255(image), to_rgb255(reference)
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    scores = []
    for ch in range(3):
        xc, yc = x[..., ch], y[..., ch]
        # Gaussian-weighted local means, variances and covariance (population statistics).
        mx, my = _blur(xc), _blur(yc)
        vx = _blur(xc * xc) - mx * mx
        vy = _blur(yc * yc) - my * my
        cxy = _blur(xc * yc) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        # Leave out the border the window hangs over, then average.
        scores.append(s[_RADIUS:-_RADIUS, _RADIUS:-_RADIUS].mean())
    return float(np.mean(scores))
