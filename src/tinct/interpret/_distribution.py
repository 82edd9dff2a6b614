"""The network's per-pixel colour distribution: cached logits, probabilities, entropy.

Explanations look at the *distribution* the network predicts over the Q ab bins before it
is decoded to one colour. Everything here works on the logits ``(Q, h, w)`` that
:func:`tinct.colorizer.predict_logits` returns (one distribution per 4 x 4 pixels of the
working resolution). The logits of the last few photos are kept in a small LRU cache, keyed
by a hash of the photo's bytes with the model and working size, so that a person clicking
pixel after pixel of one photo (:func:`tinct.interpret.suggest_colors`) runs the network once.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from scipy.special import log_softmax

from tinct.colorizer import DEFAULT_BALANCE, DEFAULT_SIZE, predict_logits, prepare

__all__ = ["cached_logits", "clear_cache", "cache_info", "log_probabilities", "entropy_bits", "max_entropy_bits",
           "grid_index", "grid_box"]

CACHE_SIZE = 8  # photos; a 256-px working size costs 4-7 MB of float32 logits each

_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int
    maxsize: int


def _key(image: np.ndarray, model: str, size: int, levels: bool, balance: float) -> tuple:
    arr = np.ascontiguousarray(image)
    digest = hashlib.blake2b(arr.view(np.uint8).reshape(-1), digest_size=16).hexdigest()
    return digest, arr.shape, arr.dtype.str, str(model), int(size), bool(levels), float(balance)


def cached_logits(image: np.ndarray, *, model: str = "default", size: int = DEFAULT_SIZE,
                  light: np.ndarray | None = None, levels: bool = False,
                  balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Logits ``(Q, h, w)`` for ``image``, from the cache when this photo was seen before.

    Parameters
    ----------
    image : ndarray
        The photo as given to the public functions (any layout :func:`tinct.colorizer.prepare`
        accepts); its bytes, shape and dtype are the cache key.
    light : ndarray, optional
        The photo's L, when the caller already has it (saves converting it again on a miss).

    Returns
    -------
    ndarray, shape (Q, h, w), float32, read-only (it is shared with the cache).
    """
    image = np.asarray(image)
    key = _key(image, model, size, levels, balance)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            _stats["hits"] += 1
            return _cache[key]
    if light is None:
        light = prepare(image).light
    logits = predict_logits(light, model=model, size=size, levels=levels, balance=balance)
    logits.setflags(write=False)
    with _lock:
        _stats["misses"] += 1
        _cache[key] = logits
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return logits


def clear_cache() -> None:
    """Forget all cached logits (and the hit/miss counts)."""
    with _lock:
        _cache.clear()
        _stats.update(hits=0, misses=0)


def cache_info() -> CacheInfo:
    """Hits, misses and fill of the logits cache, like :func:`functools.lru_cache`'s."""
    with _lock:
        return CacheInfo(_stats["hits"], _stats["misses"], len(_cache), CACHE_SIZE)


def log_probabilities(logits: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Natural-log softmax of the logits along ``axis`` (temperature 1), float32."""
    return log_softmax(np.asarray(logits, np.float32), axis=axis).astype(np.float32, copy=False)


def max_entropy_bits(num_bins: int) -> float:
    """Entropy of the uniform distribution over ``num_bins`` bins: log2 Q bits."""
    return math.log2(num_bins)


def entropy_bits(logits: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Shannon entropy, in bits, of ``softmax(logits)`` along ``axis``.

    ``H = -sum_q p_q log2 p_q``: 0 bits when the network puts all its mass on one ab bin,
    ``log2 Q`` (8.03 bits for Q = 262) when it spreads it evenly over all of them.

    Examples
    --------
    >>> round(float(entropy_bits(np.zeros(256))), 4)
    8.0
    """
    logp = log_probabilities(logits, axis=axis)
    h = -(np.exp(logp) * logp).sum(axis=axis) / np.float32(math.log(2))
    return np.clip(h, 0.0, max_entropy_bits(np.shape(logits)[axis])).astype(np.float32)


def grid_index(x: int, y: int, shape: tuple[int, int], grid: tuple[int, int]) -> tuple[int, int]:
    """Row and column of the logit cell that holds full-resolution pixel (x, y).

    The working image is the photo stretched onto the network's grid, so a pixel maps to
    cell ``floor((y + 0.5) * h / H)``, ``floor((x + 0.5) * w / W)``.
    """
    (hh, ww), (h, w) = shape, grid
    return min(h - 1, int((y + 0.5) * h / hh)), min(w - 1, int((x + 0.5) * w / ww))


def grid_box(box: tuple[int, int, int, int], shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Boolean mask ``(h, w)`` of the logit cells that a full-resolution box overlaps.

    ``box = (x0, y0, x1, y1)`` in pixels, end exclusive. A box inside one cell gives that cell.
    """
    (hh, ww), (h, w) = shape, grid
    x0, y0, x1, y1 = box
    r0, c0 = int(math.floor(y0 * h / hh)), int(math.floor(x0 * w / ww))
    r1, c1 = int(math.ceil(y1 * h / hh)), int(math.ceil(x1 * w / ww))
    mask = np.zeros((h, w), bool)
    mask[max(0, r0):max(r0 + 1, min(h, r1)), max(0, c0):max(c0 + 1, min(w, c1))] = True
    return mask
