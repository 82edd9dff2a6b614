"""Colour style transfer: recolour a photo in the palette of another.

``source`` is the photo that changes; ``reference`` is the colour donor (an image or a
:class:`Palette` of one). See ``docs/transfer.md`` for when to use which method.

Methods (:data:`METHODS`)
-------------------------
``mkl``           Monge-Kantorovich linear map (Pitie & Kokaram 2007): mean + covariance, least change.
``mvgd``          multivariate Gaussian transfer with a Cholesky map.
``reinhard``      mean/std per channel in Reinhard's l-alpha-beta (Reinhard et al. 2001).
``reinhard-lab``  mean/std per channel in CIE Lab.
``hm``            exact per-channel histogram (CDF) matching.
``idt``           iterative distribution transfer (Pitie et al. 2005/2007): the full 3-D distribution.
``sot``           sliced optimal transport (Rabin et al. 2011): the full 3-D distribution.
``hm-mkl-hm``, ``hm-mvgd-hm``  chains; any ``-``-joined sequence of the above is accepted.

Importing this package does not import torch (or scipy).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinct.color.lab import lab_to_rgb, rgb_to_lab
from tinct.match import hm, idt, mkl, mvgd, reinhard, sot
from tinct.match._core import (
    CHUNK,
    Chain,
    ColorMap,
    ColorSet,
    U8Index,
    affine_int,
    check_image,
    color_set,
    evaluate,
    from_float,
    to_float,
)
from tinct.match.palette import Palette
from tinct.match.regrain import regrain as regrain_image
from tinct.match.regrain import regrain_float

__all__ = ["METHODS", "BASE_METHODS", "Palette", "transfer", "parse_method", "regrain_image"]

_FIT: dict[str, Callable[..., ColorMap]] = {
    "mkl": mkl.fit,
    "mvgd": mvgd.fit,
    "reinhard": reinhard.fit,
    "reinhard-lab": reinhard.fit_lab,
    "hm": hm.fit,
    "idt": idt.fit,
    "sot": sot.fit,
}
BASE_METHODS: tuple[str, ...] = tuple(_FIT)
METHODS: tuple[str, ...] = BASE_METHODS + ("hm-mkl-hm", "hm-mvgd-hm")
_MAX_CHAIN = 8


def parse_method(method: str) -> tuple[str, ...]:
    """Split a method name into its steps: ``"hm-mkl-hm"`` -> ``("hm", "mkl", "hm")``.

    ``reinhard-lab`` is one step. Raises ``ValueError`` listing the valid names.
    """
    if not isinstance(method, str) or not method.strip():
        raise ValueError(f"method must be a non-empty string, got {method!r}; valid methods: {', '.join(METHODS)}")
    tokens = method.strip().lower().split("-")
    steps: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "reinhard" and i + 1 < len(tokens) and tokens[i + 1] == "lab":
            steps.append("reinhard-lab")
            i += 2
        elif tokens[i] in _FIT:
            steps.append(tokens[i])
            i += 1
        else:
            raise ValueError(
                f"unknown method {method!r}; valid methods: {', '.join(METHODS)} "
                f"(or a '-'-joined chain of {', '.join(BASE_METHODS)})")
    if len(steps) > _MAX_CHAIN:
        raise ValueError(f"method chain {method!r} has {len(steps)} steps, at most {_MAX_CHAIN} are allowed")
    return tuple(steps)


# --------------------------------------------------------------------------- post-processing
def _lab_to_rgb_keep_l(light: np.ndarray, ab: np.ndarray, iters: int = 18) -> np.ndarray:
    """Lab -> RGB in [0, 1] keeping L: out-of-gamut colours lose chroma (a, b scaled towards 0)."""
    lab = np.concatenate([light[:, None], ab], axis=1)
    rgb = lab_to_rgb(lab, clip=False)
    tol = 1e-6
    bad = np.any((rgb < -tol) | (rgb > 1 + tol), axis=1)
    if bad.any():
        lb, abb = light[bad, None], ab[bad]
        lo = np.zeros((lb.shape[0], 1), np.float32)
        hi = np.ones((lb.shape[0], 1), np.float32)
        for _ in range(iters):  # bisection on the chroma scale; grey (scale 0) is always in gamut
            mid = (lo + hi) / 2
            r = lab_to_rgb(np.concatenate([lb, abb * mid], axis=1), clip=False)
            ok = np.all((r >= -tol) & (r <= 1 + tol), axis=1, keepdims=True)
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        rgb[bad] = lab_to_rgb(np.concatenate([lb, abb * lo], axis=1), clip=False)
    return np.clip(rgb, 0, 1)


def _post(src: np.ndarray, mapped: np.ndarray, strength, preserve_luminance: bool) -> np.ndarray:
    """Clip, keep the source's L if asked, and blend towards the source by ``strength``.

    ``strength`` is a scalar or an (n,) array of per-pixel strengths.
    """
    m = np.clip(mapped, 0, 1)
    s = np.asarray(strength, dtype=np.float32)
    s = s[:, None] if s.ndim == 1 else s
    if preserve_luminance:
        ls, lm = rgb_to_lab(src), rgb_to_lab(m)
        ab = ls[:, 1:] + s * (lm[:, 1:] - ls[:, 1:])
        return _lab_to_rgb_keep_l(ls[:, 0], ab)
    if s.ndim == 0 and s == 1:
        return m
    return src + s * (m - src)


# --------------------------------------------------------------------------- validation
def _check_mask(mask, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"mask must have shape {shape} (the source's height and width), got {m.shape}")
    if m.dtype == bool:
        return m.astype(np.float32)
    if m.dtype.kind != "f":
        raise ValueError(f"mask must be bool or float in [0, 1], got dtype {m.dtype} "
                         "(convert with mask.astype(bool) or mask / 255)")
    if not np.isfinite(m).all() or m.min() < 0 or m.max() > 1:
        raise ValueError("mask values must be finite and in [0, 1]")
    return m.astype(np.float32)


def _check_strength(strength) -> float:
    try:
        s = float(strength)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"strength must be a number in [0, 1], got {strength!r}") from exc
    if not np.isfinite(s) or s < 0 or s > 1:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    return s


# --------------------------------------------------------------------------- transfer
def _fit_chain(steps: tuple[str, ...], colors: ColorSet, palette: Palette, rng: np.random.Generator) -> ColorMap:
    maps = []
    for i, name in enumerate(steps):
        m = _FIT[name](colors, palette, rng)
        maps.append(m)
        if i < len(steps) - 1:
            colors = colors.mapped(m)
    return maps[0] if len(maps) == 1 else Chain(maps)


def _fill_hidden(image: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``image`` with each invisible pixel (``visible`` False) given its nearest visible pixel's value."""
    from scipy.ndimage import distance_transform_edt

    rows, cols = distance_transform_edt(~visible, return_distances=False, return_indices=True)
    return image[rows, cols]


def transfer(
    source: np.ndarray,
    reference: np.ndarray | Palette,
    method: str = "mkl",
    *,
    strength: float = 1.0,
    preserve_luminance: bool = False,
    mask: np.ndarray | None = None,
    regrain: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Recolour ``source`` with the colour palette of ``reference``.

    Parameters
    ----------
    source : ndarray, (H, W, 3) or (H, W, 4)
        The photo to change, RGB(A), uint8, uint16 or float in [0, 1] (floats are clipped).
    reference : ndarray or Palette
        The colour donor: an (h, w, 3|4) image of any size and dtype, or a :class:`Palette`
        (``Palette.from_image(img)``, or ``Palette.load(path)`` of a saved one); both give the
        same result. Fully transparent pixels of RGBA images are left out of the statistics.
    method : str, optional
        One of :data:`METHODS` (default ``"mkl"``) or a ``-``-joined chain of base methods.
    strength : float, optional
        In [0, 1]: 0 returns the source unchanged, 1 the full transfer; in between the result
        is blended towards the source (in RGB; in Lab a, b with ``preserve_luminance``).
    preserve_luminance : bool, optional
        Keep the source's CIE Lab lightness L exactly (up to the output's quantisation): only
        a and b change, and colours that would leave the sRGB gamut lose chroma, not lightness.
    mask : ndarray, (H, W) bool or float in [0, 1], optional
        Per-pixel weight of the change (multiplies ``strength``); pixels with 0 are returned
        exactly. The colour map itself is fitted on the whole (opaque) source.
    regrain : bool, optional
        Apply the grain-preserving post-process of Pitie et al. 2007
        (:func:`tinct.match.regrain.regrain`) to the transferred colours.
    seed : int, optional
        Seed of the random pixel sample and rotations (``idt``, ``sot``); results are
        deterministic for a given seed.

    Returns
    -------
    ndarray, same shape as ``source``
        uint8 for uint8, uint16 for uint16, float32 in [0, 1] for float input. Colours that fall
        outside [0, 1] are clipped per channel. The alpha channel is copied unchanged.

    Raises
    ------
    ValueError
        For wrong shapes or dtypes, non-finite values, an unknown method (the message lists the
        valid ones), or ``strength``/``mask`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> src = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    >>> ref = rng.integers(100, 200, (20, 30, 3), dtype=np.uint8)
    >>> out = transfer(src, ref, "mkl")
    >>> out.shape, out.dtype
    ((32, 32, 3), dtype('uint8'))

    References
    ----------
    .. [1] E. Reinhard et al., "Color Transfer between Images", IEEE CG&A 21(5), 2001.
    .. [2] F. Pitie, A. Kokaram, R. Dahyot, "N-dimensional probability density function
       transfer and its application to colour transfer", ICCV 2005.
    .. [3] F. Pitie, A. Kokaram, R. Dahyot, "Automated colour grading using colour
       distribution transfer", CVIU 107(1-2), 2007.
    .. [4] F. Pitie, A. Kokaram, "The linear Monge-Kantorovitch linear colour mapping for
       example-based colour transfer", CVMP 2007.
    .. [5] J. Rabin, G. Peyre, J. Delon, M. Bernot, "Wasserstein barycenter and its application
       to texture mixing", SSVM 2011.
    """
    steps = parse_method(method)
    src_rgb, alpha = check_image(source, "source")
    h, w = src_rgb.shape[:2]
    s = _check_strength(strength)
    weights = _check_mask(mask, (h, w))
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(reference, Palette):
        if isinstance(reference, (str, bytes)):
            raise ValueError("reference must be an image array or a Palette, got a string (load the file first)")
        reference = Palette.from_image(reference)
    int_out = src_rgb.dtype in (np.uint8, np.uint16)
    out_dtype = src_rgb.dtype if int_out else np.dtype(np.float32)
    src_arr = np.asarray(source)
    if s == 0 or (weights is not None and not weights.any()):
        return src_arr.astype(out_dtype, copy=True)

    n = h * w
    valid = None
    if alpha is not None:
        opaque = alpha > 0
        if opaque.any() and not opaque.all():
            valid = opaque
    cache: dict[str, U8Index] = {}

    def index() -> U8Index:
        if "i" not in cache:
            cache["i"] = U8Index(src_rgb.reshape(-1, 3))
        return cache["i"]

    colors = color_set(src_rgb, valid, index if src_rgb.dtype == np.uint8 else None)
    fmap = _fit_chain(steps, colors, reference, np.random.default_rng(int(seed)))
    idx = index if src_rgb.dtype == np.uint8 else None

    if regrain or weights is not None:
        mapped = evaluate(src_rgb, fmap, separable=fmap.separable, out_dtype=None, index=idx, cheap=fmap.cheap)
        src_f = to_float(src_rgb)
        if regrain:
            grain_src, grain_map = src_f, np.clip(mapped, 0, 1)
            if valid is not None:  # colours hidden under transparent pixels must not bleed into visible edges
                grain_src, grain_map = _fill_hidden(grain_src, valid), _fill_hidden(grain_map, valid)
            mapped = regrain_float(grain_src, grain_map)
        sf, mf = src_f.reshape(-1, 3), mapped.reshape(-1, 3)
        wf = None if weights is None else weights.reshape(-1)
        out = np.empty((n, 3), dtype=out_dtype)
        for i in range(0, n, CHUNK):
            st = s if wf is None else s * wf[i : i + CHUNK]
            out[i : i + CHUNK] = from_float(_post(sf[i : i + CHUNK], mf[i : i + CHUNK], st, preserve_luminance),
                                            out_dtype)
        out = out.reshape(h, w, 3)
        if weights is not None:
            zero = weights == 0
            out[zero] = src_rgb[zero].astype(out_dtype)
    elif int_out and not preserve_luminance and fmap.affine() is not None:
        a, b = fmap.affine()
        out = src_rgb.copy() if getattr(fmap, "identity", False) else affine_int(src_rgb, a, b, s)
    else:
        def fn(x: np.ndarray) -> np.ndarray:
            return _post(x, fmap(x), s, preserve_luminance)

        out = evaluate(src_rgb, fn, separable=fmap.separable and not preserve_luminance, out_dtype=out_dtype,
                       index=idx, cheap=fmap.cheap and not preserve_luminance)
    if alpha is not None:
        out = np.concatenate([out, alpha[..., None].astype(out_dtype)], axis=2)
    return out
