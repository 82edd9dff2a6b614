"""The colour statistics of a reference photo, reusable without the photo.

A :class:`Palette` holds everything the transfer methods read from the reference (the colour
donor): RGB mean and covariance (``mvgd``, ``mkl``), mean and standard deviation in Reinhard's
l-alpha-beta and in CIE Lab (``reinhard``, ``reinhard-lab``), the per-channel cumulative
distribution as knots (``hm``) and a small random pixel sample (``idt``, ``sot``). It saves to a
small JSON file (tens of kB for an 8-bit photo), and :func:`tinct.match.transfer` gives exactly the
same result with the photo, with ``Palette.from_image(photo)`` and with the palette read back
from its JSON.

The CDF knots use the mid-rank convention: a level ``v`` with count ``c`` and cumulative count
``C`` (including itself) out of ``N`` sits at probability ``(C - c / 2) / N``; the smallest and
largest levels are repeated at probabilities 0 and 1. Integer photos keep one knot per distinct
level (exact); floats and 16-bit photos with more levels than ``max_knots`` keep an evenly spread
subset (the piecewise-linear inverse CDF between them is then an approximation).
"""

from __future__ import annotations

import base64
import json
import os
from functools import cached_property

import numpy as np

from tinct.color.lab import rgb_to_lab
from tinct.match._core import ColorSet, check_image, color_set
from tinct.match.reinhard import rgb_to_lalphabeta

__all__ = ["Palette", "cdf_knots"]

FORMAT = "tinct.palette"
VERSION = 1
SAMPLE_SIZE = 16384  # pixels kept for idt/sot
MAX_KNOTS = 1024  # CDF knots per channel at most


def cdf_knots(levels: np.ndarray, counts: np.ndarray, max_knots: int = MAX_KNOTS) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF knots (values float32, probabilities float64) of one channel.

    ``levels`` increasing distinct values, ``counts`` their (weighted) counts.
    """
    cum = np.cumsum(counts)
    mid = (cum - counts / 2) / cum[-1]
    values = np.concatenate([levels[:1], levels, levels[-1:]]).astype(np.float32)
    probs = np.concatenate([[0.0], mid, [1.0]])
    if values.size > max_knots:
        keep = np.unique(np.searchsorted(probs, np.linspace(0, 1, max_knots), side="left").clip(0, probs.size - 1))
        keep = np.union1d(keep, [0, probs.size - 1])
        values, probs = values[keep], probs[keep]
    return values, probs


def _f32_list(a: np.ndarray) -> list[float]:
    # shortest decimal that reads back as the same float32
    return [float(str(v)) for v in np.asarray(a, dtype=np.float32).ravel()]


class Palette:
    """Colour statistics of a reference image (the donor of a colour transfer).

    Build one with :meth:`from_image` (statistics are computed on first use, so a method only pays
    for what it reads), save it with :meth:`to_json` / :meth:`save`, read it back with
    :meth:`from_json` / :meth:`load`; pass it as ``reference`` to :func:`tinct.match.transfer`.

    Attributes
    ----------
    n_pixels : int
        Number of pixels the statistics were computed from (opaque pixels for RGBA).
    mean, cov : ndarray, (3,), (3, 3) float64
        RGB mean and population covariance, RGB in [0, 1].
    lab_mean, lab_std, lalphabeta_mean, lalphabeta_std : ndarray, (3,) float64
        Per-channel mean and standard deviation in CIE Lab and in Reinhard's l-alpha-beta.
    cdf : list of 3 (values, probs) pairs
        Per-channel inverse-CDF knots, values float32 in [0, 1], probs float64 in [0, 1].
    sample : ndarray, (n, 3) float32
        Random pixels (at most 16384), quantised to the photo's bit depth (16 bits for floats).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    >>> p = Palette.from_image(img)
    >>> Palette.from_json(p.to_json()).mean.round(3).tolist() == p.mean.round(3).tolist()
    True
    """

    def __init__(self, stats: dict | None = None, *, _colors: ColorSet | None = None, _sample=None):
        self._colors = _colors
        if stats is not None:
            for k, v in stats.items():
                self.__dict__[k] = v
        if _sample is not None:
            self._sample_codes, self._sample_scale = _sample

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_image(cls, image: np.ndarray, *, sample_size: int = SAMPLE_SIZE, seed: int = 0) -> Palette:
        """Statistics of an (H, W, 3|4) uint8/uint16/float image.

        Fully transparent pixels of an RGBA image are left out. ``sample_size`` pixels are drawn
        with ``seed`` for ``idt``/``sot``.
        """
        rgb, alpha = check_image(image, "reference")
        valid = None
        if alpha is not None and (alpha > 0).any() and not (alpha > 0).all():
            valid = alpha > 0
        colors = color_set(rgb, valid)
        rng = np.random.default_rng(seed)
        sample = colors.sample(int(sample_size), rng)
        if rgb.dtype == np.uint8:
            codes, scale = np.rint(sample * 255).astype(np.uint8), 255
        else:
            codes, scale = np.rint(np.clip(sample, 0, 1) * 65535).astype(np.uint16), 65535
        return cls({"n_pixels": int(colors.total)}, _colors=colors, _sample=(codes, scale))

    # ------------------------------------------------------------------ statistics (lazy)
    @cached_property
    def _rgb_moments(self):
        return self._colors.mean_cov()

    @cached_property
    def mean(self) -> np.ndarray:
        return self._rgb_moments[0]

    @cached_property
    def cov(self) -> np.ndarray:
        return self._rgb_moments[1]

    @cached_property
    def _lab_moments(self):
        m, c = self._colors.mean_cov(rgb_to_lab)
        return m, np.sqrt(np.maximum(np.diag(c), 0))

    @cached_property
    def lab_mean(self) -> np.ndarray:
        return self._lab_moments[0]

    @cached_property
    def lab_std(self) -> np.ndarray:
        return self._lab_moments[1]

    @cached_property
    def _lalphabeta_moments(self):
        m, c = self._colors.mean_cov(rgb_to_lalphabeta)
        return m, np.sqrt(np.maximum(np.diag(c), 0))

    @cached_property
    def lalphabeta_mean(self) -> np.ndarray:
        return self._lalphabeta_moments[0]

    @cached_property
    def lalphabeta_std(self) -> np.ndarray:
        return self._lalphabeta_moments[1]

    @cached_property
    def cdf(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [cdf_knots(*self._colors.channel_levels(c)) for c in range(3)]

    @cached_property
    def sample(self) -> np.ndarray:
        return self._sample_codes.astype(np.float32) / np.float32(self._sample_scale)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """All statistics as plain JSON-able Python objects."""
        codes = np.ascontiguousarray(self._sample_codes)
        return {
            "format": FORMAT,
            "version": VERSION,
            "n_pixels": int(self.n_pixels),
            "mean": self.mean.tolist(),
            "cov": self.cov.tolist(),
            "lab_mean": self.lab_mean.tolist(),
            "lab_std": self.lab_std.tolist(),
            "lalphabeta_mean": self.lalphabeta_mean.tolist(),
            "lalphabeta_std": self.lalphabeta_std.tolist(),
            "cdf": [{"values": _f32_list(v), "probs": p.tolist()} for v, p in self.cdf],
            "sample": {"bits": 8 if codes.dtype == np.uint8 else 16, "n": int(codes.shape[0]),
                       "base64": base64.b64encode(codes.astype(codes.dtype.newbyteorder("<")).tobytes()).decode()},
        }

    def to_json(self) -> str:
        """The palette as a JSON string (see :meth:`from_json`)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json` to ``path`` (atomically: an old palette there stays whole until then)."""
        from pathlib import Path

        from tinct.io import atomic_write

        atomic_write(Path(path), self.to_json().encode("utf-8"))

    @classmethod
    def from_dict(cls, d: dict) -> Palette:
        """Inverse of :meth:`to_dict`; ``ValueError`` on anything malformed."""
        try:
            if d.get("format") != FORMAT:
                raise ValueError(f"not a tinct palette (format {d.get('format')!r})")
            if d.get("version") != VERSION:
                raise ValueError(f"unsupported palette version {d.get('version')!r}")
            stats = {"n_pixels": int(d["n_pixels"])}
            for k, shape in [("mean", (3,)), ("cov", (3, 3)), ("lab_mean", (3,)), ("lab_std", (3,)),
                             ("lalphabeta_mean", (3,)), ("lalphabeta_std", (3,))]:
                a = np.asarray(d[k], dtype=np.float64)
                if a.shape != shape or not np.isfinite(a).all():
                    raise ValueError(f"palette field {k!r} must be finite with shape {shape}, got {a.shape}")
                stats[k] = a
            cdf = []
            for ch in d["cdf"]:
                v = np.asarray(ch["values"], dtype=np.float32)
                p = np.asarray(ch["probs"], dtype=np.float64)
                if v.ndim != 1 or v.shape != p.shape or v.size < 2 or np.any(np.diff(p) <= 0):
                    raise ValueError("palette CDF knots must be 1-D, of equal length, probabilities increasing")
                cdf.append((v, p))
            if len(cdf) != 3:
                raise ValueError(f"palette needs 3 CDF channels, got {len(cdf)}")
            stats["cdf"] = cdf
            s = d["sample"]
            dtype = {8: np.dtype("u1"), 16: np.dtype("<u2")}[int(s["bits"])]
            codes = np.frombuffer(base64.b64decode(s["base64"]), dtype=dtype).astype(dtype.newbyteorder("="))
            codes = codes.reshape(int(s["n"]), 3)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"malformed palette: {exc!r}") from exc
        return cls(stats, _sample=(codes, 255 if int(s["bits"]) == 8 else 65535))

    @classmethod
    def from_json(cls, text: str | bytes) -> Palette:
        """Read a palette written by :meth:`to_json`."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"palette is not valid JSON: {exc}") from exc
        if not isinstance(d, dict):
            raise ValueError("palette JSON must be an object")
        return cls.from_dict(d)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Palette:
        """Read a palette file written by :meth:`save`."""
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    def __repr__(self) -> str:
        return f"Palette(n_pixels={self.n_pixels}, mean={np.round(self.mean, 3).tolist()})"
