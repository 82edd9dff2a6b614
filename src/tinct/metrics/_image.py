"""Input validation shared by the metrics (private).

Every metric takes RGB images as numpy ``(H, W, 3)`` arrays of dtype uint8 (0-255),
uint16 (0-65535) or float in [0, 1], and works on the 0-255 scale as the field does.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Float images may overshoot [0, 1] by this much (rounding); larger excursions are an error
# (most often a float image on the 0-255 scale) rather than something to clip silently.
_FLOAT_TOL = 1e-3


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate one RGB image; return it as an array (floats clipped to [0, 1])."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be an RGB image of shape (H, W, 3), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got {image.shape}")
    if image.dtype in (np.uint8, np.uint16):
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"{name} must be uint8, uint16 or float in [0, 1], got dtype {image.dtype}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} must be finite, got NaN or inf values")
    lo, hi = float(image.min()), float(image.max())
    if lo < -_FLOAT_TOL or hi > 1 + _FLOAT_TOL:
        raise ValueError(f"float {name} must be in [0, 1], got values in [{lo:g}, {hi:g}]")
    return np.clip(image, 0.0, 1.0)


def check_pair(image: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate an (output, ground truth) pair of RGB images of the same shape."""
    image = check_image(image, "image")
    reference = check_image(reference, "reference")
    if image.shape != reference.shape:
        raise ValueError(f"image and reference must have the same shape, got {image.shape} and {reference.shape}")
    return image, reference


def to_rgb255(image: np.ndarray) -> np.ndarray:
    """A validated RGB image on the 0-255 scale, float64."""
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    if image.dtype == np.uint16:
        return image.astype(np.float64) * (255.0 / 65535.0)
    return image.astype(np.float64) * 255.0


def as_image_list(images: np.ndarray | Iterable[np.ndarray], name: str) -> list[np.ndarray]:
    """One image ``(H, W, 3)``, a stack ``(N, H, W, 3)`` or an iterable of images -> list."""
    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            return [images]
        if images.ndim != 4:
            raise ValueError(f"{name} must be (H, W, 3), (N, H, W, 3) or a sequence of images, got {images.shape}")
    out = list(images)
    if not out:
        raise ValueError(f"{name} must hold at least one image, got none")
    return out
