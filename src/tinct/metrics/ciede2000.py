"""CIEDE2000 colour difference, vectorised, following Sharma, Wu & Dalal's notes.

References
----------
.. [1] G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula:
   Implementation notes, supplementary test data, and mathematical observations",
   Color Research & Application 30(1), 21-30, 2005.
.. [2] CIE 142-2001, "Improvement to industrial colour-difference evaluation".
"""

from __future__ import annotations

import numpy as np

from tinct.color.lab import rgb_to_lab
from tinct.metrics._image import check_pair

__all__ = ["deltae_ciede2000", "mean_ciede2000"]


def deltae_ciede2000(
    lab1: np.ndarray, lab2: np.ndarray, *, kL: float = 1.0, kC: float = 1.0, kH: float = 1.0
) -> np.ndarray:
    """CIEDE2000 difference Delta E_00 between two arrays of CIE Lab colours.

    Implements eqs. (1)-(22) of Sharma et al. [1]_ including their conventions for the
    discontinuities: hue angle h' = 0 where a' = b = 0, Delta h' = 0 and the mean hue =
    h1' + h2' when either chroma C' is 0, and the mean hue taken on the short arc.

    Parameters
    ----------
    lab1, lab2 : ndarray, shape (..., 3)
        CIE Lab colours (L in [0, 100]); broadcast against each other.
    kL, kC, kH : float, optional
        Parametric weighting factors (1 for the reference conditions).

    Returns
    -------
    ndarray, shape (...)
        Delta E_00, float64, symmetric in its arguments.

    Raises
    ------
    ValueError
        When the last axis is not 3 or the shapes do not broadcast.

    Examples
    --------
    >>> round(float(deltae_ciede2000([50, 2.6772, -79.7751], [50, 0, -82.7485])), 4)
    2.0425
    """
    lab1 = np.asarray(lab1, np.float64)
    lab2 = np.asarray(lab2, np.float64)
    for name, lab in (("lab1", lab1), ("lab2", lab2)):
        if lab.ndim < 1 or lab.shape[-1] != 3:
            raise ValueError(f"{name} must have 3 channels in its last axis, got {lab.shape}")
    try:
        np.broadcast_shapes(lab1.shape, lab2.shape)
    except ValueError:
        raise ValueError(f"lab1 and lab2 must broadcast, got {lab1.shape} and {lab2.shape}") from None
    L1, a1, b1 = np.moveaxis(lab1, -1, 0)
    L2, a2, b2 = np.moveaxis(lab2, -1, 0)

    # 1. a' stretched by G (eqs. 2-5), C' and h' (eqs. 6-7).
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    c7 = c_bar**7
    g = 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    # arctan2(0, 0) = 0 gives the h' = 0 convention for a' = b = 0.
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360

    # 2. Differences Delta L', Delta C', Delta H' (eqs. 8-11).
    dLp = L2 - L1
    dCp = c2p - c1p
    cc = c1p * c2p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, np.where(dhp < -180, dhp + 360, dhp))
    dhp = np.where(cc == 0, 0.0, dhp)
    dHp = 2 * np.sqrt(cc) * np.sin(np.radians(dhp) / 2)

    # 3. Means, weighting functions and rotation term (eqs. 12-22).
    Lp_bar = (L1 + L2) / 2
    Cp_bar = (c1p + c2p) / 2
    hsum = h1p + h2p
    hp_bar = np.where(
        np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
    )
    hp_bar = np.where(cc == 0, hsum, hp_bar)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_bar - 30))
        + 0.24 * np.cos(np.radians(2 * hp_bar))
        + 0.32 * np.cos(np.radians(3 * hp_bar + 6))
        - 0.20 * np.cos(np.radians(4 * hp_bar - 63))
    )
    d_theta = 30 * np.exp(-(((hp_bar - 275) / 25) ** 2))
    cp7 = Cp_bar**7
    rc = 2 * np.sqrt(cp7 / (cp7 + 25.0**7))
    lm = (Lp_bar - 50) ** 2
    sl = 1 + 0.015 * lm / np.sqrt(20 + lm)
    sc = 1 + 0.045 * Cp_bar
    sh = 1 + 0.015 * Cp_bar * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc

    tl, tc, th = dLp / (kL * sl), dCp / (kC * sc), dHp / (kH * sh)
    return np.sqrt(tl**2 + tc**2 + th**2 + rt * tc * th)


def mean_ciede2000(
    image: np.ndarray, reference: np.ndarray, *, kL: float = 1.0, kC: float = 1.0, kH: float = 1.0
) -> float:
    """Mean per-pixel CIEDE2000 between a colorized RGB image and its ground truth.

    Both images are converted sRGB -> CIE Lab (D65, :func:`tinct.color.lab.rgb_to_lab`,
    float64), then :func:`deltae_ciede2000` is averaged over the pixels.

    Parameters
    ----------
    image, reference : ndarray, shape (H, W, 3)
        RGB images of the same shape; uint8, uint16 or float in [0, 1].
    kL, kC, kH : float, optional
        Parametric factors, passed to :func:`deltae_ciede2000`.

    Returns
    -------
    float
        Mean Delta E_00 (0 for identical images).

    Examples
    --------
    >>> a = np.full((2, 2, 3), 128, np.uint8)
    >>> mean_ciede2000(a, a)
    0.0
    """
    image, reference = check_pair(image, reference)
    lab1 = rgb_to_lab(image, dtype=np.float64)
    lab2 = rgb_to_lab(reference, dtype=np.float64)
    return float(np.mean(deltae_ciede2000(lab1, lab2, kL=kL, kC=kC, kH=kH)))
