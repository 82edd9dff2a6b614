"""Peak signal-to-noise ratio on RGB 0-255, as colorization papers report it.

References
----------
.. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016
   (PSNR on RGB, averaged over images, as the colorization literature reports it).
.. [2] A. Horé, D. Ziou, "Image Quality Metrics: PSNR vs. SSIM", ICPR 2010.
"""

from __future__ import annotations

import numpy as np

from tinct.metrics._image import check_pair, to_rgb255

__all__ = ["psnr"]


def psnr(image: np.ndarray, reference: np.ndarray, *, data_range: float = 255.0) -> float:
    """PSNR in dB between a colorized image and its ground truth, on RGB 0-255.

    ``PSNR = 10 log10(data_range**2 / MSE)`` with the MSE taken over all pixels and all
    three channels of the 0-255 RGB images. The field reports the mean of per-image PSNRs
    over a data set (not the PSNR of the pooled MSE): call this per image and average.

    Parameters
    ----------
    image, reference : ndarray, shape (H, W, 3)
        RGB images of the same shape; uint8 (0-255), uint16 (0-65535) or float in [0, 1].
        Both are brought to the 0-255 scale before the error is taken.
    data_range : float, optional
        Peak value on that 0-255 scale (255 by default; change it only to reproduce a
        paper that used another peak).

    Returns
    -------
    float
        PSNR in dB; ``inf`` when the images are identical (MSE = 0). Average finite values
        or report the count of identical images separately: one ``inf`` makes a mean ``inf``.

    Raises
    ------
    ValueError
        When shapes differ, an image is not (H, W, 3), a float image leaves [0, 1], or
        ``data_range`` is not positive.

    Examples
    --------
    >>> a = np.zeros((4, 4, 3), np.uint8)
    >>> round(psnr(a, a + 1), 2)
    48.13
    """
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    image, reference = check_pair(image, reference)
    # Mean squared error over pixels and channels on the 0-255 scale.
    mse = float(np.mean((to_rgb255(image) - to_rgb255(reference)) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))
