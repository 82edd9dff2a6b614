"""The public functions; thin, they validate and dispatch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinct.colorizer import DEFAULT_BALANCE, DEFAULT_SIZE, DEFAULT_TEMPERATURE, check_look, colorize_auto


def colorize(image: np.ndarray, *, hints: Sequence | None = None, reference: np.ndarray | None = None,
             model: str = "default", temperature: float = DEFAULT_TEMPERATURE, saturation: float = 1.0,
             size: int = DEFAULT_SIZE, levels: bool = False, balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Colorize a grayscale photo.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), C in 1-4
        uint8, uint16 or float in [0, 1]. A colour photo is accepted (its luminance is
        colorized, with a warning). Alpha is passed through untouched.
    hints : sequence of Hint, optional
        Colour hints (points or scribbles) that the result must follow.
    reference : ndarray, optional
        A colour photo whose colours steer the result.
    model : str
        "default" (the shipped network) or the path of a weight file.
    temperature : float
        Annealed-mean temperature in (0, 2]: lower is more vivid, higher more conservative.
    saturation : float
        Multiplier on the predicted chroma (1 = as predicted).
    size : int
        Short side of the network's working resolution.
    levels : bool
        For a faded or low-contrast scan: stretch the lightness the network sees to the
        tonal range of its training photos (the result keeps the photo's own lightness).
    balance : float
        Logit adjustment in [0, 1]: how much the network's training colour prior is divided
        out before decoding [2]_. Higher favours rare colours over common browns and grays;
        0 decodes the network as trained.

    Returns
    -------
    ndarray
        Same height, width and alpha as ``image``; dtype follows the input
        (uint8 -> uint8, uint16 -> uint16, float -> float32). The lightness is the input's.

    References
    ----------
    .. [1] R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016.
    .. [2] A. K. Menon et al., "Long-tail learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> import tinct, skimage.data
    >>> rgb = tinct.colorize(skimage.data.camera())
    >>> rgb.shape, rgb.dtype
    ((512, 512, 3), dtype('uint8'))
    """
    check_look(temperature, saturation, balance)  # before the network runs
    if hints or reference is not None:
        from tinct.guide import colorize_guided

        return colorize_guided(image, hints=hints or [], reference=reference, model=model,
                               temperature=temperature, saturation=saturation, size=size, levels=levels,
                               balance=balance)
    return colorize_auto(image, model=model, temperature=temperature, saturation=saturation, size=size,
                         levels=levels, balance=balance)
