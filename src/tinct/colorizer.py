"""Automatic colorization, stage by stage.

photo -> full-resolution L -> L at working size -> network logits over ab bins ->
annealed-mean ab (gamut-clipped) -> edge-aware upsampling on the full-resolution L ->
Lab -> sRGB with the photo's own L, size, dtype and alpha.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from tinct.color.gamut import annealed_mean, clip_ab_to_gamut
from tinct.color.lab import lab_to_rgb, looks_gray, rgb_to_gray_l
from tinct.color.upsample import UPSAMPLE_RADIUS, GuidedRows, guided_coefficients, resize_plane
from tinct.io import check_float_values

STRIDE = 4  # the network predicts one ab distribution per 4 x 4 working pixels
ROWS = 256  # full-resolution rows per block: memory stays bounded for any photo size
# Chosen together on held-out *training* photos by issue #4's bar (tools/choose_temperature.py, the
# rule in MODEL_CARD.md): the highest class-rebalanced AuC within the bar's PSNR and colourfulness
# limits. The networks were trained on 128-192 px crops, and at 224-256 they lose on every metric;
# T = 1.25 (flatter than the plain mean, far from Zhang et al.'s 0.38) hedges uncertain pixels.
# Lower T (``--temperature``) and higher balance (``--balance``) are bolder.
DEFAULT_SIZE = 160  # short side of the working resolution
DEFAULT_TEMPERATURE = 1.25
# Above 1 the annealed mean hedges more; as T grows it tends to the mean of all bins, a uniform
# salmon tint (ab ~ (16, 6)), so the accepted range stops at 2 (still about as colourful as T = 1).
MAX_TEMPERATURE = 2.0
# Logit adjustment (Menon et al. 2021): the logits minus balance x log(training colour prior), so
# rare colours win a little more often over the common browns and grays the network hedges towards.
# At 0.05 it buys 0.13 rebalanced AuC on the holdout (95% +0.05 to +0.21) for 0.13 dB of PSNR, and
# its extra colour lets the rule take the smaller working size (docs/training.md, "Session 11").
# 0 decodes the network as trained.
DEFAULT_BALANCE = 0.05
MAX_BALANCE = 1.0
PRIOR_EPS = 1e-6  # keeps log(prior) finite for bins no training pixel fell in
# levels=True (`--levels`, for faded scans): the network sees L mapped so that its 0.5th and
# 99.5th percentiles land on 3 and 95, the median levels of the training holdout's photos; the
# output keeps the photo's own L. On the holdout made faded (L' = 15 + 0.7 L) it lifts rebalanced
# AuC 65.08 -> 66.03 and AuC 87.88 -> 88.07; on the photos as they are it costs 0.09 of AuC and
# 0.04 dB (misty or low-key scenes are pushed to average contrast), so it is off by default
# (docs/training.md, "Faded scans").
LEVELS = (3.0, 95.0)
LEVELS_PERCENTILE = 0.5
# A near-flat photo (a gray card, fog) would otherwise have its noise amplified up to ~90x into
# strong texture; 3x covers a print faded to a third of its range.
MAX_LEVELS_GAIN = 3.0
BACKENDS = ("auto", "torch", "onnx")
# benchmarks/bench_onnx.py (RESULTS.md): onnxruntime ran the network faster than torch in 7 of 8
# thread/size/OpenMP settings (4% slower in the eighth), so "auto" uses it whenever tinct[onnx] is installed.
AUTO_PREFERS_ONNX = True
_ONNX_FAILED: set[str] = set()  # models whose export failed once: auto mode stays on torch for them


class ColourInputWarning(UserWarning):
    """The photo given to colorize already has colour (only its lightness is used). A batch
    expects this; it filters the category instead of every warning."""


@dataclass
class Prepared:
    """A photo split into what colorization needs."""

    light: np.ndarray  # (H, W) float32, Lab L 0-100 of the photo
    alpha: np.ndarray | None  # (H, W) in the input dtype, untouched
    dtype: np.dtype
    was_colour: bool


def prepare(image: np.ndarray) -> Prepared:
    """Validate an (H, W), (H, W, 1|2|3|4) image and take its lightness and alpha apart."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[-1] not in (1, 2, 3, 4) or min(img.shape[:2]) < 1:
        raise ValueError(f"image must be (H, W) or (H, W, 1|2|3|4), got shape {np.shape(image)}")
    if img.dtype not in (np.uint8, np.uint16) and not np.issubdtype(img.dtype, np.floating):
        # the result comes back in the input's dtype, and int64/int8/uint32 have no agreed white
        raise ValueError(f"image dtype must be uint8, uint16 or float (0-1), got {img.dtype}")
    check_float_values(img)
    alpha = img[..., -1] if img.shape[-1] in (2, 4) else None
    channels = img[..., :3] if img.shape[-1] >= 3 else img[..., :1]
    light = np.empty(img.shape[:2], np.float32)
    for y in range(0, img.shape[0], ROWS):
        block = channels[y:y + ROWS]
        if block.shape[-1] == 1:
            block = np.repeat(block, 3, axis=-1)
        if np.issubdtype(block.dtype, np.floating):
            block = np.clip(block, 0, 1)
        light[y:y + ROWS] = rgb_to_gray_l(block)
    was_colour = channels.shape[-1] == 3 and not looks_gray(channels)
    return Prepared(light, alpha, img.dtype, was_colour)


MAX_ASPECT = 16  # longest working side, in multiples of the short side's target
MIN_SIZE = 32  # smallest working size: one cell of the encoder's deepest (stride-32) grid


def working_shape(height: int, width: int, size: int = DEFAULT_SIZE) -> tuple[int, int]:
    """Network input size: short side ~``size``, both sides multiples of 32 (stride-exact).

    A photo smaller than ``size`` is not enlarged (only rounded to the stride): upsampling
    gives the network a blurred photo it never saw in training, and it answers with garish
    colour (128 px flowers at size 192: colourfulness 78 against the truth's 56, PSNR -2 dB).
    The long side is capped at ``MAX_ASPECT`` times the short side's target: a 1 x 10000 strip
    would otherwise ask the network for a 192 x 1.9M input (minutes of work for no colour)."""
    if size < MIN_SIZE:
        raise ValueError(f"working size must be >= {MIN_SIZE}, got {size}")
    target = max(32, min(size, height, width))
    scale = min(target / min(height, width), MAX_ASPECT * target / max(height, width))
    return (max(32, int(round(height * scale / 32)) * 32), max(32, int(round(width * scale / 32)) * 32))


def onnx_available() -> bool:
    """Whether the onnxruntime path can run (``pip install 'tinct[onnx]'``); imports nothing."""
    from importlib.util import find_spec

    return find_spec("onnxruntime") is not None and find_spec("onnx") is not None


def _requested(backend: str) -> str:
    """The backend asked for: the argument, or ``$TINCT_BACKEND`` when the argument is "auto"."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = os.environ.get("TINCT_BACKEND", "").strip().lower() or "auto"
        if backend not in BACKENDS:
            raise ValueError(f"TINCT_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return backend


def resolve_backend(backend: str = "auto") -> str:
    """``"torch"`` or ``"onnx"``: the engine that runs the network for a requested backend.

    An explicit argument wins; ``"auto"`` defers to ``$TINCT_BACKEND`` (torch, onnx or auto),
    and auto picks onnxruntime when it is installed (see :data:`AUTO_PREFERS_ONNX`), else torch.
    """
    backend = _requested(backend)
    if backend == "auto":
        return "onnx" if AUTO_PREFERS_ONNX and onnx_available() else "torch"
    if backend == "onnx" and not onnx_available():
        raise ImportError("the onnx backend needs onnxruntime and onnx: pip install 'tinct[onnx]'")
    return backend


def predict_logits(light: np.ndarray, *, model: str = "default", size: int = DEFAULT_SIZE,
                   backend: str = "auto", levels: bool = False, balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Per-pixel logits over the ab bins, shape (Q, h, w) at 1/4 of the working size, shifted by
    :func:`balance_shift` (so colorize, hints and explain all decode the same distribution).

    ``backend``: ``"torch"``, ``"onnx"`` (onnxruntime) or ``"auto"`` (:func:`resolve_backend`);
    the two engines agree to ~1e-5. If the ONNX export fails, auto warns once and uses torch;
    an explicit onnx request raises instead.
    """
    check_look(1.0, 1.0, balance)
    logits, counts = _network_logits(working_light(light, size, levels=levels), model, backend)
    shift = _shift(counts, balance, model)
    return logits if shift is None else logits + shift[:, None, None]


def _network_logits(work: np.ndarray, model: str, backend: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The network's own logits (Q, h, w) for the working-size L, on the requested backend, and
    the weights' colour prior counts (from the ONNX export's metadata or the torch weights)."""
    strict = _requested(backend) == "onnx"
    if resolve_backend(backend) == "onnx" and (strict or model not in _ONNX_FAILED):
        try:
            from tinct.models._onnx import onnx_session, run, session_prior

            session = onnx_session(model)
        except (ImportError, RuntimeError) as exc:  # OnnxError is a RuntimeError
            if strict:
                raise
            _ONNX_FAILED.add(model)
            warnings.warn(f"onnxruntime unusable ({exc}); running the network with torch", RuntimeWarning,
                          stacklevel=3)
        else:
            return run(session, np.ascontiguousarray(work[None, None], dtype=np.float32))[0], session_prior(session)
    import torch

    from tinct.models._weights import load_model, prior_counts

    net = load_model(model)
    with torch.inference_mode():
        logits = net(torch.from_numpy(work)[None, None])[0]
    return logits.numpy(), prior_counts(net.extra)


def working_light(light: np.ndarray, size: int = DEFAULT_SIZE, *, levels: bool = False) -> np.ndarray:
    """The network's input: the photo's L resized to the working resolution (``levels``:
    then :func:`stretch_levels`)."""
    hw, ww = working_shape(*light.shape, size)
    work = resize_plane(light, (hw, ww), resample="box" if hw < light.shape[0] else "bilinear")
    return stretch_levels(work) if levels else work


def stretch_levels(light: np.ndarray, *, percentile: float = LEVELS_PERCENTILE,
                   levels: tuple[float, float] = LEVELS, max_gain: float = MAX_LEVELS_GAIN) -> np.ndarray:
    """L mapped linearly so that its ``percentile`` and ``100 - percentile`` percentiles land on
    ``levels``, clipped to 0-100 (an "auto levels" of the network's input). Any fade ``a + b L``
    (b > 0, down to ``1 / max_gain``) of a photo maps to the same result, so a faded scan reaches
    the network at the tonal range of the photos it was trained on. The gain is at most
    ``max_gain`` (the middle of the range then goes to the middle of ``levels``); a flat image
    (range under 1) is returned unchanged."""
    lo, hi = np.percentile(light, [percentile, 100 - percentile])
    if hi - lo < 1:
        return light
    gain = min((levels[1] - levels[0]) / (hi - lo), max_gain)
    out = (levels[0] + levels[1]) / 2 + (light - (lo + hi) / 2) * np.float32(gain)
    return np.clip(out, 0, 100).astype(np.float32)


def light_at(light: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The photo's L area-averaged onto a low-resolution grid (the logits' grid)."""
    return resize_plane(light, shape, resample="box")


def check_look(temperature: float, saturation: float = 1.0, balance: float = 0.0) -> None:
    """Raise ValueError unless 0 < temperature <= MAX_TEMPERATURE, 0 <= saturation < inf and
    0 <= balance <= MAX_BALANCE (NaN fails)."""
    if not 0 < temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in (0, {MAX_TEMPERATURE:g}], got {temperature}")
    if not 0 <= saturation < np.inf:
        raise ValueError(f"saturation must be a finite number >= 0, got {saturation}")
    if not 0 <= balance <= MAX_BALANCE:
        raise ValueError(f"balance must be in [0, {MAX_BALANCE:g}], got {balance}")


def balance_shift(model: str = "default", balance: float = DEFAULT_BALANCE) -> np.ndarray | None:
    """Per-bin logit offsets (Q,) float32, ``-balance * log(smoothed training prior + eps)``.

    None when ``balance`` is 0 or the weight file carries no prior (then the logits are used as
    they are, with a warning once per model). Subtracting a multiple of the log prior is the
    post-hoc logit adjustment of Menon et al. for a class-balanced error; balance 1 would score
    every colour bin alike.

    References
    ----------
    A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and S. Kumar, "Long-tail learning
    via logit adjustment", ICLR 2021.
    """
    check_look(1.0, 1.0, balance)
    if balance == 0:
        return None
    from tinct.models._weights import colour_prior

    return _shift(colour_prior(model), balance, model)


_NO_PRIOR_TOLD: set[str] = set()


def log_prior(counts: np.ndarray, *, eps: float = PRIOR_EPS) -> np.ndarray:
    """``log(smoothed prior + eps)`` (Q,) of ab-bin counts (:func:`tinct.color.gamut.smooth_prior`)."""
    from tinct.color.gamut import smooth_prior

    return np.log(smooth_prior(counts) + eps)


def _shift(counts: np.ndarray | None, balance: float, model: str) -> np.ndarray | None:
    if balance == 0:
        return None
    if counts is None:
        if model not in _NO_PRIOR_TOLD:
            _NO_PRIOR_TOLD.add(model)
            warnings.warn(f"{model}: the weight file carries no colour prior, so balance has no effect",
                          UserWarning, stacklevel=4)
        return None
    return (-balance * log_prior(counts)).astype(np.float32)


def decode_ab(logits: np.ndarray, light_lo: np.ndarray, *, temperature: float = DEFAULT_TEMPERATURE,
              saturation: float = 1.0) -> np.ndarray:
    """Annealed-mean ab on the logits' grid, scaled by ``saturation``, clipped to sRGB."""
    check_look(temperature, saturation)
    ab = annealed_mean(logits, temperature=temperature, axis=0) * saturation
    lab = clip_ab_to_gamut(np.concatenate([light_lo[..., None], ab], axis=-1))
    return lab[..., 1:]


def compose(ab_lo: np.ndarray, light_lo: np.ndarray, prep: Prepared, *, radius: int = UPSAMPLE_RADIUS,
            exact: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Full-resolution result: guided-upsampled ab joined with the photo's own L.

    Works through the photo in blocks of :data:`ROWS` rows (peak memory is the input, the
    output and a few blocks). ``exact = (ys, xs, ab)`` sets the chroma of those pixels
    exactly (hints). The result has the input's dtype (float -> float32) and alpha.
    """
    height, width = prep.light.shape
    rows = GuidedRows(*guided_coefficients(ab_lo, light_lo, radius=radius), prep.light.shape)
    integer = np.issubdtype(prep.dtype, np.integer)
    channels = 3 if prep.alpha is None else 4
    out = np.empty((height, width, channels), prep.dtype if integer else np.float32)
    for y in range(0, height, ROWS):
        light = prep.light[y:y + ROWS]
        ab = rows.ab(light, y)
        if exact is not None:
            ys, xs, values = exact
            inside = (ys >= y) & (ys < y + light.shape[0])
            ab[ys[inside] - y, xs[inside]] = values[inside]
        rgb = lab_to_rgb(np.concatenate([light[..., None], ab], axis=-1))
        if integer:
            top = np.iinfo(prep.dtype).max
            out[y:y + ROWS, :, :3] = rgb * top + 0.5  # in [0, top + 0.5]: truncation rounds
        else:
            out[y:y + ROWS, :, :3] = rgb
    if prep.alpha is not None:
        out[..., 3] = prep.alpha
    return out


def colorize_auto(image: np.ndarray, *, model: str = "default", temperature: float = DEFAULT_TEMPERATURE,
                  saturation: float = 1.0, size: int = DEFAULT_SIZE, levels: bool = False,
                  balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Automatic colorization of one photo (see :func:`tinct.colorize`)."""
    prep = prepare(image)
    if prep.was_colour:
        warnings.warn("the photo already has colour: colorizing its luminance", ColourInputWarning, stacklevel=3)
    logits = predict_logits(prep.light, model=model, size=size, levels=levels, balance=balance)
    light_lo = light_at(prep.light, logits.shape[1:])
    ab_lo = decode_ab(logits, light_lo, temperature=temperature, saturation=saturation)
    return compose(ab_lo, light_lo, prep)
