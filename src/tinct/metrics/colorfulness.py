"""Colourfulness (Hasler & Süsstrunk 2003) and the colorization metric Delta CF.

Two variants are offered because the field uses both under one name:

``"paper"``
    The published metric: opponent components ``rg = R - G`` and ``yb = (R + G)/2 - B``
    (signed) on RGB 0-255, ``CF = sqrt(sd_rg**2 + sd_yb**2) + 0.3 sqrt(mean_rg**2 + mean_yb**2)``.
``"absolute"``
    The code DDColor (and the widespread pyimagesearch snippet it follows) ships: the same
    formula on ``|rg|`` and ``|yb|``. Taking absolute values first changes *both* terms:
    the mean term grows (mean |rg| >= |mean rg|) and the spread term shrinks (the spread of
    |rg| is at most that of rg). An image half red, half green has paper mean term 0 but
    absolute spread term 0. Numbers of the two variants are not comparable.

References
----------
.. [1] D. Hasler, S. Süsstrunk, "Measuring colourfulness in natural images", Proc. SPIE
   5007, Human Vision and Electronic Imaging VIII, 87-95, 2003.
.. [2] X. Kang, T. Yang, W. Ouyang, P. Ren, L. Li, X. Xie, "DDColor: Towards
   Photo-Realistic Image Colorization via Dual Decoders", ICCV 2023 (Delta CF; the
   ``absolute`` variant is in its ``basicsr/metrics/colorfulness.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinct.metrics._image import as_image_list, check_image, to_rgb255

__all__ = ["VARIANTS", "colorfulness", "delta_colorfulness"]

VARIANTS = ("paper", "absolute")


def colorfulness(image: np.ndarray, *, variant: str = "paper") -> float:
    """Colourfulness CF of an RGB image (Hasler & Süsstrunk 2003, on RGB 0-255).

    ``rg = R - G``, ``yb = (R + G)/2 - B`` per pixel on the 0-255 scale;
    ``CF = sqrt(sd_rg**2 + sd_yb**2) + 0.3 * sqrt(mean_rg**2 + mean_yb**2)`` with population
    standard deviations (ddof = 0) over all pixels. With ``variant="absolute"`` rg and yb are
    replaced by ``|rg|`` and ``|yb|`` first (DDColor's code; see the module notes).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB; uint8, uint16 or float in [0, 1].
    variant : {"paper", "absolute"}, optional

    Returns
    -------
    float
        CF >= 0; 0 for any gray image. ImageNet val ground truth is about 38-39.

    Raises
    ------
    ValueError
        For an unknown ``variant`` or an image that is not (H, W, 3).

    Examples
    --------
    >>> red = np.zeros((2, 2, 3), np.uint8); red[..., 0] = 255
    >>> round(colorfulness(red), 2)  # 0.3 * sqrt(255**2 + 127.5**2)
    85.53
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    rgb = to_rgb255(check_image(image))
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Opponent colour components.
    rg = r - g
    yb = 0.5 * (r + g) - b
    if variant == "absolute":
        rg, yb = np.abs(rg), np.abs(yb)
    spread = np.hypot(rg.std(), yb.std())
    centre = np.hypot(rg.mean(), yb.mean())
    return float(spread + 0.3 * centre)


def delta_colorfulness(
    images: np.ndarray | Iterable[np.ndarray],
    references: np.ndarray | Iterable[np.ndarray],
    *,
    variant: str = "paper",
) -> float:
    """Delta CF = | mean CF(images) - mean CF(references) | over two sets of images.

    A set-level score (DDColor, ICCV 2023): the mean colourfulness of the colorized set
    against that of the ground truth; per-image pairing is not used, so the sets may
    differ in size and image shapes.

    Parameters
    ----------
    images, references : ndarray (H, W, 3) or (N, H, W, 3), or a sequence of images
        Colorized outputs and ground-truth images.
    variant : {"paper", "absolute"}, optional
        Passed to :func:`colorfulness`; both sets use the same variant.

    Returns
    -------
    float

    Examples
    --------
    >>> gray = np.full((2, 2, 3), 90, np.uint8)
    >>> red = np.zeros((2, 2, 3), np.uint8); red[..., 0] = 255
    >>> round(delta_colorfulness([gray], [red, gray]), 2)  # |0 - 85.53 / 2|
    42.76
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    out = [colorfulness(im, variant=variant) for im in as_image_list(images, "images")]
    ref = [colorfulness(im, variant=variant) for im in as_image_list(references, "references")]
    return float(abs(np.mean(out) - np.mean(ref)))
