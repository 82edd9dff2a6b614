"""Training data: find photos, split by hash, keep them decoded in RAM, sample batches.

Colour photos are decoded once at a small size (a few hundred MB for ~8k photos) so
that the two CPU cores spend their time in the network, not in JPEG decoding.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tinct.color.gamut import soft_encode
from tinct.color.lab import looks_gray, rgb_to_lab
from tinct.io import find_images

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


def _unit_hash(path: Path) -> float:
    """A number in [0, 1) fixed by the file's bytes (not its name, folder or order)."""
    digest = hashlib.sha1(path.read_bytes()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def split_of(path: Path, holdout_fraction: float) -> str:
    """'holdout' or 'train', fixed by a hash of the file's bytes (not its name or order)."""
    return "holdout" if _unit_hash(path) < holdout_fraction else "train"


def fold_of(path: Path, k: int) -> int:
    """The cross-validation fold (0 .. k-1) of a photo, fixed by the same hash as :func:`split_of`.

    Fold 0 of ``k`` folds is the holdout of ``split_of(path, 1 / k)``; a photo keeps its
    fold when files are renamed, moved or added.
    """
    if k < 2:
        raise ValueError(f"cross-validation needs k >= 2 folds, got {k}")
    return min(k - 1, int(_unit_hash(path) * k))


def load_photos(root: Path, *, split: str, holdout_fraction: float, load_short: int, min_side: int,
                group_weights: dict[str, float] | None = None,
                is_holdout: Callable[[Path], bool] | None = None) -> PhotoSet:
    """Decode every colour photo under ``root`` that falls in ``split``.

    Grayscale, tiny and unreadable files are skipped and counted in ``skipped``.
    The group of a photo is its first folder under ``root``; its sampling weight is
    ``group_weights.get(group, 1)``. ``is_holdout`` (e.g. "is in fold 2", see
    :func:`fold_of`) replaces the ``holdout_fraction`` split when given.
    """
    def split_here(path: Path) -> str:
        if is_holdout is None:
            return split_of(path, holdout_fraction)
        return "holdout" if is_holdout(path) else "train"

    images, paths, weights = [], [], []
    skipped = {"gray": 0, "tiny": 0, "unreadable": 0}
    for path in find_images([root]):
        if split_here(path) != split:
            continue
        try:
            with Image.open(path) as im:
                im.draft("RGB", (load_short, load_short))  # JPEG: decode at reduced scale
                im = im.convert("RGB")
                w, h = im.size
                if min(w, h) < min_side:
                    skipped["tiny"] += 1
                    continue
                scale = load_short / min(w, h)
                if scale < 1:
                    im = im.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR,
                                   reducing_gap=2.0)
                rgb = np.asarray(im)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.warning("skipping %s: %s", path, exc)
            skipped["unreadable"] += 1
            continue
        if looks_gray(rgb):  # a "colour" file whose channels agree: nothing to learn from
            skipped["gray"] += 1
            continue
        rel = path.relative_to(root).parts
        group = rel[0] if len(rel) > 1 else ""
        images.append(rgb)
        paths.append(str(path))
        weights.append((group_weights or {}).get(group, 1.0))
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


__all__ = ["PhotoSet", "load_photos", "split_of", "fold_of", "random_crop", "center_crop", "make_batch",
           "Batch", "ab_prior_counts"]
