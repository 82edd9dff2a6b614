"""Shared machinery of the colour-transfer methods.

* image validation and the dtype policy (uint8 -> uint8, uint16 -> uint16, float -> float32),
* :class:`ColorSet`: the colours of an image as a fitting step sees them (exact per-channel
  histograms for integer images, unique colours with counts for uint8, float32 pixels otherwise),
* :class:`ColorMap`: a fitted pointwise map ``(N, 3) float32 -> (N, 3) float32`` on RGB in [0, 1],
* :func:`evaluate`: applies a pointwise function to a whole image in the cheapest exact way
  (per-channel look-up tables for separable maps on integer images, one evaluation per unique
  colour for uint8 photos, 1 M-pixel chunks otherwise), so 12 MP photos never get float64 copies.

Everything here is float32 on the pixels; only the 3 x 3 statistics are float64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinct.io import check_float_values

CHUNK = 1 << 20  # pixels per chunk for chunked passes (12 MB of float32 RGB)
FLOAT_BINS = 1 << 16  # histogram resolution for per-channel CDFs of float data
_U8_DENSE = 1 << 21  # at or above this many pixels, uint8 unique colours use a dense 2^24 bincount
_INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


# --------------------------------------------------------------------------- images
def check_image(image: object, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate an (H, W, 3|4) RGB(A) image; return (rgb view, alpha view or None)."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"{name} must be an (H, W, 3) RGB or (H, W, 4) RGBA image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty, got shape {arr.shape}")
    if arr.dtype not in _INT_MAX and arr.dtype.kind != "f":
        raise ValueError(f"{name} must be uint8, uint16 or float, got dtype {arr.dtype}")
    rgb = arr[..., :3]
    check_float_values(rgb, name)
    return rgb, (arr[..., 3] if arr.shape[2] == 4 else None)


def int_levels(dtype: np.dtype) -> np.ndarray:
    """float32 value of every code of an integer dtype: ``arange(max + 1) / max``."""
    m = _INT_MAX[np.dtype(dtype)]
    return np.arange(m + 1, dtype=np.float32) / np.float32(m)


def to_float(rgb: np.ndarray) -> np.ndarray:
    """RGB as float32 in [0, 1] (integer codes through a look-up table, floats clipped)."""
    if rgb.dtype in _INT_MAX:
        return int_levels(rgb.dtype)[rgb]
    return np.clip(rgb, 0, 1).astype(np.float32, copy=False)


def from_float(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float32 [0, 1] -> output dtype (rounded for integers, float32 otherwise)."""
    dtype = np.dtype(dtype)
    if dtype in _INT_MAX:
        m = np.float32(_INT_MAX[dtype])
        return np.rint(np.clip(x, 0, 1) * m).astype(dtype)
    return np.clip(x, 0, 1).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- statistics
def mix3(m: np.ndarray, xt: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``m @ xt (+ b[:, None])`` for a 3 x 3 ``m`` and planar (3, N) float32 ``xt``.

    Written as nine vector multiply-adds: a multithreaded BLAS call on such skinny matrices can
    be 50x slower than this when the cores are busy (measured on the 2-core build machines).
    """
    m = np.asarray(m, dtype=np.float32)
    out = np.empty_like(xt)
    tmp = np.empty_like(xt[0])
    for j in range(3):
        o = out[j]
        np.multiply(xt[0], m[j, 0], out=o)
        o += np.multiply(xt[1], m[j, 1], out=tmp)
        o += np.multiply(xt[2], m[j, 2], out=tmp)
        if b is not None:
            o += np.float32(b[j])
    return out


def moments(planar_chunks) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean (3,) and population covariance (3, 3), float64, accumulated over chunks.

    ``planar_chunks`` yields ``(xt, w)``: planar (3, n) float64 colours and (n,) float64 weights
    or None. Chunks are small (1 M pixels), so no full-size float64 copy is ever made. Data are
    shifted by the first chunk's mean before the sums to avoid cancellation.
    """
    shift = None
    s1 = np.zeros(3)
    s2 = np.zeros((3, 3))
    total = 0.0
    for xt, w in planar_chunks:
        if shift is None:
            shift = xt[:, :4096].mean(axis=1)
        xt = xt - shift[:, None]
        wx = xt if w is None else xt * w
        s1 += wx.sum(axis=1)
        s2 += wx @ xt.T  # (3, n) @ (n, 3): a long reduction, which BLAS does well
        total += xt.shape[1] if w is None else float(w.sum())
    m = s1 / total
    cov = s2 / total - np.outer(m, m)
    return shift + m, (cov + cov.T) / 2


def levels_from_float(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct levels (float32, increasing) and their counts for one channel of float data.

    Values are binned in :data:`FLOAT_BINS` bins over [min, max]; a bin's level is the mean of
    the values that fell in it, so data with fewer than 65536 well separated values (anything
    that came from 8-bit or 16-bit codes) keep their exact values.
    """
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        total = float(values.size if weights is None else weights.sum())
        return np.array([lo], dtype=np.float32), np.array([total])
    scale = (FLOAT_BINS - 1) / (hi - lo)
    counts = np.zeros(FLOAT_BINS)
    sums = np.zeros(FLOAT_BINS)
    for i in range(0, values.size, CHUNK):
        v = values[i : i + CHUNK]
        code = np.rint((v - np.float32(lo)) * np.float32(scale)).astype(np.int32)
        np.clip(code, 0, FLOAT_BINS - 1, out=code)
        w = None if weights is None else weights[i : i + CHUNK]
        counts += np.bincount(code, weights=w, minlength=FLOAT_BINS)
        sums += np.bincount(code, weights=v if w is None else v * w, minlength=FLOAT_BINS)
    keep = counts > 0
    lv = (sums[keep] / counts[keep]).astype(np.float32)
    return lv, counts[keep]


def rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3 x 3 rotation (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


# --------------------------------------------------------------------------- colour sets
class ColorSet:
    """A weighted set of RGB colours (float32 in [0, 1]) that fitting steps read.

    ``colors`` is (K, 3) float32, ``weights`` (K,) float64 counts or None (all ones).
    """

    def __init__(self, colors: np.ndarray, weights: np.ndarray | None = None):
        self._colors = colors
        self._weights = weights

    @property
    def colors(self) -> np.ndarray:
        return self._colors

    @property
    def weights(self) -> np.ndarray | None:
        return self._weights

    @property
    def total(self) -> float:
        w = self.weights
        return float(self.colors.shape[0] if w is None else w.sum())

    def chunks(self, transform: Callable[[np.ndarray], np.ndarray] | None = None):
        """Yield ``(colors, weights)`` blocks of at most :data:`CHUNK` rows."""
        colors, w = self.colors, self.weights
        for i in range(0, colors.shape[0], CHUNK):
            yield colors[i : i + CHUNK], (None if w is None else w[i : i + CHUNK])

    def mean_cov(self, transform: Callable[[np.ndarray], np.ndarray] | None = None):
        """Weighted mean and covariance (float64) of the colours, optionally transformed."""
        def planar():
            for x, w in self.chunks(transform):
                x = transform(x) if transform is not None else x
                yield np.array(x.T, dtype=np.float64, order="C"), w

        return moments(planar())

    def channel_levels(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values of channel ``c`` (float32, increasing) and their counts."""
        return levels_from_float(np.ascontiguousarray(self.colors[:, c]), self.weights)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` pixels drawn at random (all of them, repeated by count, if there are fewer)."""
        colors, w = self.colors, self.weights
        if self.total <= n:
            if w is None:
                return colors.copy()
            return np.repeat(colors, np.rint(w).astype(np.int64), axis=0)
        if w is None:
            return colors[rng.integers(0, colors.shape[0], n)]
        return colors[rng.choice(colors.shape[0], n, p=w / w.sum())]

    def mapped(self, fn: Callable[[np.ndarray], np.ndarray]) -> ColorSet:
        """The set after a pointwise map (same weights)."""
        return ColorSet(apply_chunked(fn, self.colors), self.weights)


class IntImageColors(ColorSet):
    """Colours of a uint8/uint16 image: exact histograms, unique colours computed lazily."""

    def __init__(self, rgb: np.ndarray, valid: np.ndarray | None = None,
                 index: Callable[[], U8Index] | None = None):
        self._flat = rgb.reshape(-1, 3)
        self._valid = None if valid is None else valid.reshape(-1)
        self._levels = int_levels(rgb.dtype)
        self._index = index
        self._colors = None
        self._weights = None

    def _materialize(self) -> None:
        if self._colors is not None:
            return
        if self._flat.dtype == np.uint8:
            index = self._index() if self._index is not None else U8Index(self._flat)
            counts = index.counts if self._valid is None else np.bincount(
                index.inverse[self._valid], minlength=index.codes.size).astype(np.float64)
            keep = counts > 0
            self._colors = index.colors()[keep]
            self._weights = counts[keep]
        else:
            px = self._flat if self._valid is None else self._flat[self._valid]
            self._colors = self._levels[px]
            self._weights = None

    @property
    def colors(self) -> np.ndarray:
        self._materialize()
        return self._colors

    @property
    def weights(self) -> np.ndarray | None:
        self._materialize()
        return self._weights

    @property
    def total(self) -> float:
        return float(self._flat.shape[0] if self._valid is None else np.count_nonzero(self._valid))

    def mean_cov(self, transform: Callable[[np.ndarray], np.ndarray] | None = None):
        if transform is not None or self._colors is not None:
            return super().mean_cov(transform)
        if self._flat.dtype == np.uint8:
            return self._mean_cov_u8()
        # RGB moments straight from the integer codes (planar float64 per chunk), scaled at the end
        maxv = float(self._levels.size - 1)

        def planar():
            for i in range(0, self._flat.shape[0], CHUNK):
                px = self._flat[i : i + CHUNK]
                if self._valid is not None:
                    px = px[self._valid[i : i + CHUNK]]
                if px.shape[0]:
                    yield px.T.astype(np.float64), None

        mean, cov = moments(planar())
        return mean / maxv, cov / maxv**2

    def _mean_cov_u8(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact moments of an 8-bit photo from its three 256 x 256 pair histograms.

        Three ``bincount`` passes per chunk; every sum is an integer below 2^53, so the result
        is exact (and 3x faster than float products).
        """
        pairs = ((0, 1), (0, 2), (1, 2))
        hist = [np.zeros(1 << 16, dtype=np.int64) for _ in pairs]
        for i in range(0, self._flat.shape[0], CHUNK):
            px = self._flat[i : i + CHUNK]
            if self._valid is not None:
                px = px[self._valid[i : i + CHUNK]]
            ch = [px[:, c].astype(np.int32) for c in range(3)]
            for h, (a, b) in zip(hist, pairs, strict=True):
                h += np.bincount((ch[a] << 8) | ch[b], minlength=1 << 16)
        v = np.arange(256, dtype=np.float64)
        joint = [h.reshape(256, 256).astype(np.float64) for h in hist]
        marg = [joint[0].sum(axis=1), joint[0].sum(axis=0), joint[1].sum(axis=0)]
        n = marg[0].sum()
        mean = np.array([m @ v for m in marg]) / n
        second = np.empty((3, 3))
        for c in range(3):
            second[c, c] = marg[c] @ (v * v)
        for h, (a, b) in zip(joint, pairs, strict=True):
            second[a, b] = second[b, a] = v @ h @ v
        cov = second / n - np.outer(mean, mean)
        return mean / 255, cov / 255**2

    def chunks(self, transform: Callable[[np.ndarray], np.ndarray] | None = None):
        # costly transforms (Lab, logs) of a large uint8 photo run once per unique colour
        unique = self._colors is not None or (
            transform is not None and self._flat.dtype == np.uint8 and self._flat.shape[0] >= _U8_DENSE)
        if unique:
            yield from super().chunks(transform)
            return
        for i in range(0, self._flat.shape[0], CHUNK):
            px = self._flat[i : i + CHUNK]
            if self._valid is not None:
                px = px[self._valid[i : i + CHUNK]]
            if px.shape[0]:
                yield self._levels[px], None

    def channel_levels(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        ch = self._flat[:, c]
        if self._valid is not None:
            ch = ch[self._valid]
        counts = np.bincount(ch, minlength=self._levels.size).astype(np.float64)
        keep = counts > 0
        return self._levels[keep], counts[keep]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.total <= n:
            px = self._flat if self._valid is None else self._flat[self._valid]
            return self._levels[px]
        if self._valid is None:
            idx = rng.integers(0, self._flat.shape[0], n)
        else:
            where = np.flatnonzero(self._valid)
            idx = where[rng.integers(0, where.size, n)]
        return self._levels[self._flat[idx]]


def color_set(rgb: np.ndarray, valid: np.ndarray | None = None,
              index: Callable[[], U8Index] | None = None) -> ColorSet:
    """The :class:`ColorSet` of an (H, W, 3) image; ``valid`` (H, W) bool selects pixels.

    ``index`` returns the image's (cached) :class:`U8Index` for uint8 images.
    """
    if rgb.dtype in _INT_MAX:
        return IntImageColors(rgb, valid, index)
    flat = to_float(rgb).reshape(-1, 3)
    return ColorSet(flat if valid is None else flat[valid.reshape(-1)])


class U8Index:
    """Unique colours of a uint8 (N, 3) pixel array: packed codes, counts, per-pixel inverse."""

    def __init__(self, flat: np.ndarray):
        code = flat[:, 0].astype(np.int32) << 16
        code |= flat[:, 1].astype(np.int32) << 8
        code |= flat[:, 2]
        if flat.shape[0] >= _U8_DENSE:
            # dense: one bincount over all 2^24 codes, then a code -> index table
            counts = np.bincount(code, minlength=1 << 24)
            self.codes = np.flatnonzero(counts).astype(np.int32)
            self.counts = counts[self.codes].astype(np.float64)
            del counts
            table = np.empty(1 << 24, dtype=np.int32)
            table[self.codes] = np.arange(self.codes.size, dtype=np.int32)
            self.inverse = table[code]
        else:
            self.codes, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
            self.inverse = inverse.reshape(-1).astype(np.int32)
            self.counts = counts.astype(np.float64)

    def colors(self) -> np.ndarray:
        """The unique colours as float32 (K, 3) in [0, 1]."""
        lv = int_levels(np.uint8)
        c = self.codes
        return np.stack([lv[(c >> 16) & 255], lv[(c >> 8) & 255], lv[c & 255]], axis=1)


# --------------------------------------------------------------------------- maps
class ColorMap:
    """A fitted pointwise colour map on RGB float32 (N, 3) -> (N, 3), unclipped.

    ``separable`` is True when each output channel depends only on the same input channel,
    which lets integer images be mapped with per-channel look-up tables; ``cheap`` when a call
    costs a few operations per pixel (affine maps), so evaluating per unique colour cannot pay.
    """

    separable = False
    cheap = False

    def __call__(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def affine(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(A, b)`` (float64) when the map is ``x -> A x + b``, else None."""
        return None


class Chain(ColorMap):
    """Maps applied one after the other."""

    def __init__(self, maps: list[ColorMap]):
        self.maps = maps
        self.separable = all(m.separable for m in maps)
        self.cheap = all(m.cheap for m in maps)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for m in self.maps:
            x = m(x)
        return x

    def affine(self) -> tuple[np.ndarray, np.ndarray] | None:
        a, b = np.eye(3), np.zeros(3)
        for m in self.maps:
            ab = m.affine()
            if ab is None:
                return None
            a, b = ab[0] @ a, ab[0] @ b + ab[1]
        return a, b


def apply_chunked(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn`` on (N, 3) float32 in chunks of :data:`CHUNK` rows; float32 (N, 3) result."""
    if x.shape[0] <= CHUNK:
        return np.asarray(fn(x), dtype=np.float32)
    out = np.empty(x.shape, dtype=np.float32)
    for i in range(0, x.shape[0], CHUNK):
        out[i : i + CHUNK] = fn(x[i : i + CHUNK])
    return out


def evaluate(rgb: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], *, separable: bool,
             out_dtype: np.dtype | None, index: Callable[[], U8Index] | None = None,
             cheap: bool = False) -> np.ndarray:
    """Apply a pointwise colour function to every pixel of an (H, W, 3) image.

    ``fn`` maps float32 (n, 3) RGB in [0, 1] to float32 (n, 3). The result is (H, W, 3) in
    ``out_dtype`` (rounded and clipped for integer dtypes) or float32 when ``out_dtype`` is None.
    Integer images with a separable ``fn`` go through per-channel look-up tables over all codes;
    uint8 images otherwise through their unique colours (unless ``fn`` is ``cheap``, e.g. affine,
    where streaming the pixels is faster); everything else in chunks.
    """
    h, w, _ = rgb.shape
    target = np.dtype(np.float32) if out_dtype is None else np.dtype(out_dtype)
    if rgb.dtype in _INT_MAX and separable:
        lv = int_levels(rgb.dtype)
        lut = fn(np.repeat(lv[:, None], 3, axis=1))
        lut = from_float(lut, target) if target in _INT_MAX else lut.astype(np.float32)
        out = np.empty((h, w, 3), dtype=target)
        for c in range(3):
            out[..., c] = lut[:, c][rgb[..., c]]
        return out
    if rgb.dtype == np.uint8 and h * w >= 1 << 16 and not cheap:
        index = index() if index is not None else U8Index(rgb.reshape(-1, 3))
        vals = apply_chunked(fn, index.colors())
        vals = from_float(vals, target) if target in _INT_MAX else vals
        return vals[index.inverse].reshape(h, w, 3)
    flat = rgb.reshape(-1, 3)
    out = np.empty((h * w, 3), dtype=target)
    for i in range(0, h * w, CHUNK):
        y = fn(to_float(flat[i : i + CHUNK]))
        out[i : i + CHUNK] = from_float(y, target) if target in _INT_MAX else y
    return out.reshape(h, w, 3)


def affine_int(rgb: np.ndarray, a: np.ndarray, b: np.ndarray, strength: float) -> np.ndarray:
    """``clip(A x + b)`` blended towards ``x`` by ``strength``, on an integer image, in its codes.

    The fast path for ``mkl``/``mvgd`` on 8/16-bit photos: planar float32 chunks straight from
    the integer codes (no look-up table, no (N, 3) float copies), nine multiply-adds per pixel.
    """
    maxv = float(_INT_MAX[rgb.dtype])
    h, w, _ = rgb.shape
    flat = rgb.reshape(-1, 3)
    out = np.empty_like(flat)
    s = np.float32(strength)
    for i in range(0, flat.shape[0], CHUNK):
        xt = flat[i : i + CHUNK].T.astype(np.float32)
        y = mix3(a, xt, np.asarray(b) * maxv)
        np.clip(y, 0, maxv, out=y)
        if strength != 1:
            y -= xt
            y *= s
            y += xt
        np.rint(y, out=y)
        out[i : i + CHUNK] = y.T
    return out.reshape(h, w, 3)
