"""Training data: find photos, split by hash, keep them decoded in RAM, sample batches.

Colour photos are decoded once at a small size (a few hundred MB for ~8k photos) so
that the two CPU cores spend their time in the network, not in JPEG decoding.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from tinct.color.gamut import soft_encode
from tinct.color.lab import looks_gray, rgb_to_lab
from tinct.io import find_images

if TYPE_CHECKING:
    from tinct.training.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class PhotoSet:
    """Decoded photos (uint8 RGB, short side ``load_short``) with sampling weights."""

    images: list[np.ndarray]
    paths: list[str]
    weights: np.ndarray  # sampling probability per photo (sums to 1)
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)


def _unit_hash(photo: Path | bytes) -> float:
    """A number in [0, 1) fixed by the file's bytes (not its name, folder or order)."""
    if isinstance(photo, bytes):
        return int.from_bytes(hashlib.sha1(photo).digest()[:4], "big") / 2**32
    st = photo.stat()
    return _file_hash(str(photo), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


# Every split (train, holdout, each cross-validation fold) asks for the hash of every file;
# caching on the file's identity and times reads each file once per process, and an edited
# file (new size, mtime or ctime) is hashed again.
@functools.cache
def _file_hash(path: str, *identity: int) -> float:
    return _unit_hash(Path(path).read_bytes())


def split_of(photo: Path | bytes, holdout_fraction: float) -> str:
    """'holdout' or 'train', fixed by a hash of the file's bytes (not its name or order).

    ``photo`` is a file, or the bytes about to be written to one.
    """
    return "holdout" if _unit_hash(photo) < holdout_fraction else "train"


def fold_of(path: Path, k: int) -> int:
    """The cross-validation fold (0 .. k-1) of a photo, fixed by the same hash as :func:`split_of`.

    Fold 0 of ``k`` folds is the holdout of ``split_of(path, 1 / k)``; a photo keeps its
    fold when files are renamed, moved or added.
    """
    if k < 2:
        raise ValueError(f"cross-validation needs k >= 2 folds, got {k}")
    return min(k - 1, int(_unit_hash(path) * k))


def group_of(path: str | Path, root: Path) -> str:
    """A photo's group: its first folder under ``root`` ("" for a photo directly in ``root``)."""
    rel = Path(path).relative_to(root).parts
    return rel[0] if len(rel) > 1 else ""


def load_photos(root: Path, *, split: str, holdout_fraction: float, load_short: int, min_side: int,
                group_weights: dict[str, float] | None = None,
                is_holdout: Callable[[Path], bool] | None = None, workers: int = 0) -> PhotoSet:
    """Decode every colour photo under ``root`` that falls in ``split``.

    Grayscale, tiny and unreadable files are skipped and counted in ``skipped``.
    The group of a photo is its first folder under ``root``; its sampling weight is
    ``group_weights.get(group, 1)``. ``is_holdout`` (e.g. "is in fold 2", see
    :func:`fold_of`) replaces the ``holdout_fraction`` split when given. ``workers`` threads
    decode in parallel (Pillow releases the GIL while it decodes); the result is the same.
    """
    def split_here(path: Path) -> str:
        if is_holdout is None:
            return split_of(path, holdout_fraction)
        return "holdout" if is_holdout(path) else "train"

    def decode(path: Path) -> np.ndarray | str | None:
        """The photo at ``load_short``, the reason it is skipped, or None when outside ``split``."""
        if split_here(path) != split:
            return None
        try:
            with Image.open(path) as im:
                im.draft("RGB", (load_short, load_short))  # JPEG: decode at reduced scale
                im = im.convert("RGB")
                w, h = im.size
                if min(w, h) < min_side:
                    return "tiny"
                scale = load_short / min(w, h)
                if scale < 1:
                    im = im.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR,
                                   reducing_gap=2.0)
                rgb = np.asarray(im)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.warning("skipping %s: %s", path, exc)
            return "unreadable"
        # a "colour" file whose channels agree: nothing to learn from
        return "gray" if looks_gray(rgb) else rgb

    images, paths, weights = [], [], []
    skipped = {"gray": 0, "tiny": 0, "unreadable": 0}
    found = list(find_images([root]))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for path, got in zip(found, pool.map(decode, found), strict=True):
            if got is None:
                continue
            if isinstance(got, str):
                skipped[got] += 1
                continue
            images.append(got)
            paths.append(str(path))
            weights.append((group_weights or {}).get(group_of(path, root), 1.0))
    w = np.asarray(weights, np.float64)
    return PhotoSet(images, paths, w / w.sum() if len(w) else w, skipped)


def random_crop(rgb: np.ndarray, rng: np.random.Generator, *, size: int, scale_min: float,
                rotate_deg: float) -> np.ndarray:
    """Random resized crop (area fraction in [scale_min, 1], aspect 3/4-4/3), flip, rotation."""
    im = Image.fromarray(rgb)
    w, h = im.size
    if rotate_deg > 0 and rng.random() < 0.3:
        angle = float(rng.uniform(-rotate_deg, rotate_deg))
        im = im.rotate(angle, resample=Image.Resampling.BILINEAR)
        # Keep the largest centred box free of the black corners a rotation leaves.
        t = abs(np.tan(np.radians(angle)))
        dx, dy = int(np.ceil(h * t / 2)) + 1, int(np.ceil(w * t / 2)) + 1
        im = im.crop((dx, dy, w - dx, h - dy))
        w, h = im.size
    area = w * h * rng.uniform(scale_min, 1.0)
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw = int(min(w, round(np.sqrt(area * aspect))))
    ch = int(min(h, round(np.sqrt(area / aspect))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    out = im.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    arr = np.asarray(out)
    return arr[:, ::-1] if rng.random() < 0.5 else arr


def center_crop(rgb: np.ndarray, *, size: int) -> np.ndarray:
    """Largest centred square, resized to ``size`` (deterministic, for holdout batches)."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(rgb[y0:y0 + s, x0:x0 + s]).resize((size, size), Image.Resampling.BILINEAR))


@dataclass
class Batch:
    light: np.ndarray  # (B, 1, S, S) float32, L in [0, 100]
    target_idx: np.ndarray  # (B, S/4, S/4, k) int64, soft-encoded bins
    target_w: np.ndarray  # (B, S/4, S/4, k) float32
    ab: np.ndarray  # (B, S/4, S/4, 2) float32, the target colours


def make_batch(crops: list[np.ndarray], *, stride: int = 4, k: int = 5, sigma: float = 5.0) -> Batch:
    """Lab L at full crop size; soft-encoded ab targets averaged over stride x stride cells."""
    lab = rgb_to_lab(np.stack(crops))
    b, s = lab.shape[0], lab.shape[1]
    g = s // stride
    ab = lab[..., 1:].reshape(b, g, stride, g, stride, 2).mean(axis=(2, 4))
    idx, w = soft_encode(ab, k=k, sigma=sigma)
    return Batch(lab[..., 0][:, None].copy(), idx, w, ab.astype(np.float32))


def training_batch(photos: PhotoSet, step: int, cfg: TrainConfig, *, rank: int = 0,
                   world_size: int = 1) -> Batch:
    """The batch of training step ``step``: photos drawn by weight, augmented, targets encoded.

    It is a function of ``(cfg.seed, step)`` alone, so worker processes, a resumed run and an
    uninterrupted one all train on the same batches. Under DDP every rank draws the global
    batch and keeps its slice (every ``world_size``-th crop from ``rank``).
    """
    rng = np.random.default_rng([cfg.seed, step])
    pick = rng.choice(len(photos), size=cfg.batch_size, p=photos.weights)
    crops = [random_crop(photos.images[i], rng, size=cfg.crop, scale_min=cfg.scale_min,
                         rotate_deg=cfg.rotate_deg) for i in pick]
    return make_batch(crops[rank::world_size], k=cfg.soft_k, sigma=cfg.soft_sigma)


_make_batch_in_worker: Callable[[int], Batch] | None = None


def _set_batch_maker(make: Callable[[int], Batch]) -> None:
    global _make_batch_in_worker
    _make_batch_in_worker = make


def _batch_in_worker(step: int) -> Batch:
    assert _make_batch_in_worker is not None
    b = _make_batch_in_worker(step)
    # half the bytes through the pipe; the trainer casts back (L to 0.06, weights to 1e-3: far
    # below what the network resolves)
    return Batch(b.light.astype(np.float16), b.target_idx.astype(np.int16), b.target_w.astype(np.float16), b.ab)


def batch_stream(photos: PhotoSet, cfg: TrainConfig, *, start: int = 0, rank: int = 0,
                 world_size: int = 1) -> Iterator[Batch]:
    """:func:`training_batch` for steps ``start``, ``start + 1``, ... in order.

    With ``cfg.workers > 0`` forked processes make them a few steps ahead, so a GPU does not
    wait for JPEG-sized augmentation and soft-encoding on one core. The photos reach the
    workers by ``fork`` (not pickled), so this needs a platform with ``fork`` (Linux, macOS).
    """
    make = functools.partial(training_batch, photos, cfg=cfg, rank=rank, world_size=world_size)
    steps = itertools.count(start)
    if cfg.workers <= 0:
        yield from map(make, steps)
        return
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(cfg.workers, initializer=_set_batch_maker, initargs=(make,))
    pending = deque(pool.apply_async(_batch_in_worker, (s,)) for s in itertools.islice(steps, 2 * cfg.workers))
    try:
        while True:
            batch = pending.popleft().get()
            pending.append(pool.apply_async(_batch_in_worker, (next(steps),)))
            yield batch
    finally:
        # Shut down gracefully (finish the batches in flight, then let the workers exit), not by
        # ``Pool.terminate()`` as ``with Pool`` does: terminate can hang for good when it kills the
        # workers while the pool's task thread still feeds them (CPython issues #78178, #96995).
        deadline = time.monotonic() + 120
        for result in pending:
            result.wait(timeout=max(0.0, deadline - time.monotonic()))
        if all(r.ready() for r in pending):
            pool.close()
        else:  # a worker died mid-batch (e.g. out of memory): nothing left to wait for
            pool.terminate()
        pool.join()


def ab_prior_counts(photos: PhotoSet, *, pixels_per_photo: int = 256, seed: int = 0) -> np.ndarray:
    """Bin counts of ab over the training photos, each photo counted by its sampling weight."""
    from tinct.color.gamut import ab_bins, nearest_bin

    rng = np.random.default_rng(seed)
    counts = np.zeros(len(ab_bins()))
    for rgb, w in zip(photos.images, photos.weights, strict=True):
        flat = rgb.reshape(-1, 3)
        pick = flat[rng.integers(0, len(flat), pixels_per_photo)]
        counts += w * np.bincount(nearest_bin(rgb_to_lab(pick)[:, 1:]), minlength=len(counts))
    return counts


__all__ = ["PhotoSet", "group_of", "load_photos", "split_of", "fold_of", "random_crop", "center_crop", "make_batch",
           "Batch", "training_batch", "batch_stream", "ab_prior_counts"]
