"""sRGB <-> CIE Lab (D65, 2 degree observer), pure numpy.

Matches :func:`skimage.color.rgb2lab` / :func:`skimage.color.lab2rgb` to 2e-4 (scikit-image
rounds the CIE constants of the dark linear segment to 0.008856 and 7.787; we use the exact
216/24389 and 24389/27) but computes in float32 (float64 on request) so full-resolution
photos stay cheap.

References
----------
.. [1] IEC 61966-2-1:1999, "Multimedia systems and equipment - Colour measurement and
   management - Part 2-1: Default RGB colour space - sRGB".
.. [2] CIE 15:2004, "Colorimetry", 3rd edition (L*a*b* definition).
"""

from __future__ import annotations

import numpy as np

from tinct.io import to_float

__all__ = ["rgb_to_lab", "lab_to_rgb", "rgb_to_gray_l", "gamut_mask", "looks_gray"]

# sRGB (D65) -> XYZ, from IEC 61966-2-1; rows X, Y, Z.
_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
# D65 reference white (2 degree observer), as scikit-image uses.
_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPS = 216 / 24389  # CIE epsilon (6/29)^3
_KAPPA = 24389 / 27  # CIE kappa


def _check_last_axis(x: np.ndarray, name: str) -> None:
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels in its last axis, got shape {x.shape}")


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    # Negative values (out of gamut) keep their sign through the linear segment.
    return np.where(c > 0.0031308, 1.055 * np.power(np.maximum(c, 0.0031308), 1 / 2.4) - 0.055, c * 12.92)


def rgb_to_lab(rgb: np.ndarray, *, dtype: type = np.float32) -> np.ndarray:
    """Convert sRGB to CIE Lab (D65).

    Parameters
    ----------
    rgb : ndarray, shape (..., 3)
        sRGB values; integer arrays are scaled by their dtype's maximum, floats are
        taken as [0, 1].
    dtype : numpy dtype, optional
        Float type of the computation and the result (float32 by default).

    Returns
    -------
    lab : ndarray, shape (..., 3)
        L in [0, 100], a and b roughly in [-110, 110].

    Examples
    --------
    >>> rgb_to_lab(np.array([1.0, 1.0, 1.0])).round(2)
    array([100.,  -0.,   0.], dtype=float32)
    """
    rgb = np.asarray(rgb)
    _check_last_axis(rgb, "rgb")
    lin = _srgb_to_linear(to_float(rgb, dtype))
    xyz = lin @ _RGB_TO_XYZ.T.astype(dtype) / _WHITE.astype(dtype)
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_rgb(lab: np.ndarray, *, clip: bool = True, dtype: type = np.float32) -> np.ndarray:
    """Convert CIE Lab (D65) to sRGB in [0, 1].

    Parameters
    ----------
    lab : ndarray, shape (..., 3)
        L in [0, 100], a, b unbounded.
    clip : bool, optional
        Clip the result to [0, 1] (default). With ``clip=False`` out-of-gamut colours
        come back outside [0, 1], which :func:`gamut_mask` uses.
    dtype : numpy dtype, optional
        Float type of the computation and the result.

    Returns
    -------
    rgb : ndarray, shape (..., 3)
    """
    lab = np.asarray(lab)
    _check_last_axis(lab, "lab")
    lab = lab.astype(dtype, copy=False)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA) * _WHITE.astype(dtype)
    rgb = _linear_to_srgb(xyz @ _XYZ_TO_RGB.T.astype(dtype))
    return np.clip(rgb, 0, 1) if clip else rgb


def rgb_to_gray_l(rgb: np.ndarray) -> np.ndarray:
    """Lab lightness L (0-100) of an sRGB image, shape (..., 3) -> (...)."""
    rgb = np.asarray(rgb)
    _check_last_axis(rgb, "rgb")
    y = _srgb_to_linear(to_float(rgb, np.float32)) @ _RGB_TO_XYZ[1].astype(np.float32)
    return np.where(y > _EPS, 116 * np.cbrt(y) - 16, _KAPPA * y).astype(np.float32)


def gamut_mask(lab: np.ndarray, *, tol: float = 1e-6) -> np.ndarray:
    """True where a Lab colour lies inside the sRGB gamut."""
    rgb = lab_to_rgb(lab, clip=False, dtype=np.float64)
    return np.all((rgb >= -tol) & (rgb <= 1 + tol), axis=-1)


def looks_gray(rgb: np.ndarray, *, tolerance: float = 2.0) -> bool:
    """True when an RGB photo carries no colour: its channels differ from their mean by less
    than ``tolerance`` 8-bit levels on average (JPEG noise in a gray photo stays below that).

    Works on uint8, uint16 or float [0, 1] arrays of shape (..., 3); ~250k pixels are sampled.
    """
    rgb = np.asarray(rgb)
    _check_last_axis(rgb, "rgb")
    if rgb.ndim == 3:  # subsample rows and columns: no copy of a huge photo
        step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
        rgb = rgb[::step, ::step]
    sample = to_float(rgb.reshape(-1, 3))
    return float(np.abs(sample - sample.mean(axis=-1, keepdims=True)).mean()) < tolerance / 255
