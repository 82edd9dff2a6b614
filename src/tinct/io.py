"""Image files in and out: decoding real photos, folders of them, atomic writes.

Reading (:func:`imread`) turns whatever a camera, scanner or web page produced into one of
four array layouts: ``(H, W, 3)`` or ``(H, W, 4)`` RGB(A), ``uint8`` or ``uint16``. EXIF
orientation is applied, palettes and grey modes are expanded, alpha is kept, 16-bit data
stay 16-bit, and a decompression bomb is refused from the header before any pixel is
decoded. Every failure is an :class:`ImageError` whose message names the file and says
what is wrong in a few words.

Writing (:func:`imwrite`) is atomic (temporary file in the target folder, ``fsync``,
``os.replace``) and carries the ICC profile and EXIF of the input over to the output.

Format support
--------------
============  =======  ========  ======  ====================================
format        read     16-bit    alpha   metadata written (ICC / EXIF)
============  =======  ========  ======  ====================================
JPEG (MPO)    yes      --        --      ICC, EXIF
PNG           yes      yes       yes     ICC, EXIF
TIFF          yes      yes       yes     ICC, EXIF (8-bit only)
WebP          yes      --        yes     ICC, EXIF
BMP           yes      --        --      --
GIF           yes      --        1-bit   --
============  =======  ========  ======  ====================================

Grey arrays ``(H, W)`` are written as grey. Writing 16-bit data to an 8-bit-only format,
or alpha to a format without it, converts with a :class:`UserWarning`. Animated GIF, WebP
and PNG files are read as their first frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import re
import secrets
import socket
import stat
import struct
import sys
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from tinct._warnings import ignoring

__all__ = [
    "IMAGE_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "atomic_write",
    "ImageError",
    "Metadata",
    "find_images",
    "imread",
    "read_metadata",
    "imwrite",
    "remove_stale_temps",
    "same_file",
    "to_float",
    "from_float",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"})

DEFAULT_MAX_PIXELS = 64_000_000
# zlib level for PNG output: photos barely shrink past level 3 (a few %), while levels 6-9
# take 2-3x longer to write; a 12 MP PNG at Pillow's default 6 costs more than colorizing it.
PNG_COMPRESS_LEVEL = 3
"""Largest image :func:`imread` decodes by default: a 50 MP scan loads, a 100 MP bomb does not."""

# Decoders we let Pillow use (JPEG includes MPO); the rest is "unsupported" (less attack surface).
_READ_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF")
_WRITE_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
    ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF",
}  # fmt: skip
_FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}
_ALPHA_FORMATS = frozenset({"PNG", "TIFF", "WEBP", "GIF"})
_WIDE_FORMATS = frozenset({"PNG", "TIFF"})
_ICC_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP"})
_EXIF_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP"})
_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION = 0x0112
_GRAY16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


class ImageError(ValueError):
    """A file that cannot be read or written as an image; ``str()`` is ``"<file>: <reason>"``.

    Parameters
    ----------
    path : str or os.PathLike
        The file, as the caller named it.
    reason : str
        A few words for a person, e.g. ``"empty file (0 bytes)"``.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(os.fspath(path), reason)  # args stay picklable
        self.path = os.fspath(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Metadata:
    """What :func:`imwrite` can carry over from an input file.

    Attributes
    ----------
    icc_profile : bytes or None
        The embedded ICC colour profile.
    exif : bytes or None
        The EXIF block as a JPEG APP1 segment holds it (starting ``b"Exif\\0\\0"``).
    format : str
        Pillow's format name, e.g. ``"JPEG"``, ``"PNG"``.
    mode : str
        Pillow's mode of the stored pixels, e.g. ``"RGB"``, ``"CMYK"``, ``"I;16"``.
    bit_depth : int
        Bits per channel of the stored pixels (1, 8, 16 or 32).
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str = ""
    mode: str = ""
    bit_depth: int = 8


# --------------------------------------------------------------------------------------
# Finding files


def find_images(inputs: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Yield image files: files as given, folders searched recursively in sorted order, and
    ``.txt`` files read as lists of photos or folders, one per line.

    Symlinked folders are not followed (a link loop would never end); hidden files and
    folders are skipped. In a list, blank lines and ``#`` comments are skipped and relative
    paths are relative to the list's folder (a training run's ``holdout.txt`` is such a list);
    a list inside a list is yielded as a file (and then fails as not an image).

    Raises
    ------
    ValueError
        A ``.txt`` input that cannot be read as UTF-8 text.
    """
    for item in inputs:
        path = Path(item)
        if is_photo_list(path):
            for listed in _read_list(path):
                yield from _walk(listed)
        else:
            yield from _walk(path)


def is_photo_list(path: Path) -> bool:
    """A ``.txt`` file, which :func:`find_images` reads as a list of photos."""
    return path.suffix.lower() == ".txt" and path.is_file()


def _walk(path: Path) -> Iterator[Path]:
    if not path.is_dir():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            p = Path(root, name)
            if not name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES:
                yield p


def _read_list(path: Path) -> list[Path]:
    try:  # utf-8-sig: a list saved by Windows Notepad starts with a byte-order mark
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable list of photos (one path per line): {exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    listed = [path.parent / line for line in lines]
    # a list with a few missing photos is a batch with a few bad files; one naming no file at
    # all is most likely not a list (notes.txt given by mistake)
    if listed and not any(p.exists() for p in listed):
        raise ValueError(f"{path}: a .txt input is read as a list of photos, one path per line, but no "
                         f"line of it names an existing file or folder ({len(listed)} tried, the first: {lines[0]})")
    return listed


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name the same file (hard links and symlinks included).

    Paths that do not exist are compared after resolving them, so an output path can be
    checked against an input before it is written.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


# --------------------------------------------------------------------------------------
# dtype round trips


FLOAT_MAX = 1.5  # float input above this is not a 0-1 image (a slight overshoot is clipped)


def check_float_values(image: np.ndarray, name: str = "image", *, unit: bool = True) -> None:
    """For a float image, raise ValueError on NaN or infinite values (they would come out black),
    and with ``unit`` when it is far above 1: a 0-255 photo held as floats, which would otherwise
    be clipped to white without a word. Integer images pass."""
    if image.dtype.kind != "f":
        return
    if not np.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if unit and image.size and (top := float(np.max(image))) > FLOAT_MAX:
        raise ValueError(f"{name}: float images are 0-1, this one reaches {top:.4g} "
                         "(a 0-255 photo? divide it by 255)")


def to_float(image: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Scale an image to floats: integers by their dtype's maximum, floats unchanged.

    Parameters
    ----------
    image : ndarray
        ``uint8`` (0-255), ``uint16`` (0-65535) or float data, any shape.
    dtype : numpy float dtype, optional
        Type of the result (float32 by default).

    Returns
    -------
    ndarray
        Same shape; integer input lands in [0, 1], float input is only cast (no copy when
        it already has ``dtype``).

    Examples
    --------
    >>> to_float(np.array([0, 255], np.uint8))
    array([0., 1.], dtype=float32)
    """
    image = np.asarray(image)
    if image.dtype == np.bool_:
        return image.astype(dtype)
    if np.issubdtype(image.dtype, np.integer):
        return image.astype(dtype) / dtype(np.iinfo(image.dtype).max)
    return image.astype(dtype, copy=False)


def from_float(image: np.ndarray, like_dtype: np.dtype | type | np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_float`: clip to [0, 1] and scale to ``like_dtype``.

    Parameters
    ----------
    image : ndarray
        Float data in [0, 1] (values outside are clipped, NaN becomes 0).
    like_dtype : dtype or ndarray
        Target dtype, or an array whose dtype to follow. Integer types are scaled by their
        maximum and rounded; float types keep [0, 1].

    Returns
    -------
    ndarray

    Examples
    --------
    >>> from_float(np.array([0.0, 0.5, 1.0]), np.uint8)
    array([  0, 128, 255], dtype=uint8)
    """
    dtype = like_dtype.dtype if isinstance(like_dtype, np.ndarray) else np.dtype(like_dtype)
    x = np.nan_to_num(np.clip(np.asarray(image), 0, 1), nan=0.0)
    if np.issubdtype(dtype, np.integer):
        return np.rint(x * np.iinfo(dtype).max).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return x.astype(dtype, copy=False)
    raise ValueError(f"like_dtype must be an integer or float dtype, got {dtype}")


# --------------------------------------------------------------------------------------
# Reading


def imread(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as an RGB(A) array, the way a person sees it.

    Parameters
    ----------
    path : str or os.PathLike
        A JPEG, PNG, TIFF, WebP, BMP or GIF file; the content decides, not the suffix.
    max_pixels : int or None, optional
        Refuse images with more pixels than this, from the header and before decoding
        (decompression-bomb guard). ``None`` lifts the limit. Raising it above Pillow's own
        limit raises Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` to match.

    Returns
    -------
    image : ndarray, shape (H, W, 3) or (H, W, 4)
        ``uint16`` for 16-bit PNG/TIFF (16-bit grey with alpha gives 8 bits), 32-bit
        integer or float grey, else ``uint8``.
        EXIF orientation is applied; grey becomes three equal channels; palette, grey or
        RGB images with transparency come back as RGBA; CMYK is converted to sRGB through
        its ICC profile when it has one. Animations give their first frame.

    Raises
    ------
    ImageError
        For anything that is not a readable image, with the file name and the reason.

    Examples
    --------
    >>> img = imread("photo.jpg")  # doctest: +SKIP
    >>> img.shape, img.dtype  # doctest: +SKIP
    ((3024, 4032, 3), dtype('uint8'))
    """
    _allow_pil_pixels(max_pixels)
    with _open_image(path, max_pixels) as (im, fp):
        try:
            image = _decode(im, fp)
        except _Unsupported as exc:
            raise ImageError(path, str(exc)) from exc
        except MemoryError:
            raise ImageError(path, f"not enough memory to decode {im.width}x{im.height} pixels") from None
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
            raise ImageError(path, "truncated or corrupt image data") from exc
        return _orient(image, _orientation(im))


def read_metadata(path: str | os.PathLike) -> Metadata:
    """Read an image's ICC profile, EXIF block, format, mode and bit depth (no pixel decoding).

    Raises
    ------
    ImageError
        As :func:`imread` would for the same file.
    """
    with _open_image(path, None) as (im, fp):
        try:
            exif = im.info.get("exif") or (_png_exif(fp) if im.format == "PNG" else None)
        except Exception:
            exif = None
        if exif and not exif.startswith(_EXIF_HEADER):
            exif = _EXIF_HEADER + exif
        return Metadata(
            icc_profile=im.info.get("icc_profile") or None,
            exif=exif or None,
            format=im.format or "",
            mode=im.mode,
            bit_depth=_bit_depth(im),
        )


@contextlib.contextmanager
def _open_image(path: str | os.PathLike, max_pixels: int | None) -> Iterator[tuple[Image.Image, BinaryIO]]:
    """Open ``path`` with Pillow (header only) and check its size; errors become ImageError."""
    with _open_file(path) as fp:
        try:
            head = fp.read(512)
            fp.seek(0)
        except OSError as exc:
            raise ImageError(path, f"cannot read ({exc.strerror or exc})") from None
        if not head:
            raise ImageError(path, "empty file (0 bytes)")
        try:
            with _quiet_pillow():
                im = Image.open(fp, formats=_READ_FORMATS)
        except Image.DecompressionBombError as exc:
            match = re.search(r"\((\d+) pixels\)", str(exc))
            pixels = int(match.group(1)) if match else 0
            raise ImageError(path, _too_big(pixels, max_pixels)) from None
        except UnidentifiedImageError:
            raise ImageError(path, _sniff(head)) from None
        except Exception as exc:
            raise ImageError(path, "truncated or corrupt image data") from exc
        with im:
            pixels = im.width * im.height
            if max_pixels is not None and pixels > max_pixels:
                raise ImageError(path, _too_big(pixels, max_pixels))
            yield im, fp


@contextlib.contextmanager
def _open_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a file for reading, turning OS errors into ImageError."""
    if os.path.isdir(path):
        raise ImageError(path, "is a folder")
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except OSError as exc:
        raise ImageError(path, f"cannot open ({exc.strerror or exc})") from None
    with fp:
        yield fp


def _quiet_pillow() -> contextlib.AbstractContextManager[None]:
    """Silence Pillow's warnings about what we check or ignore ourselves (size, broken EXIF)."""
    return ignoring({"category": Image.DecompressionBombWarning},
                    {"message": r"(?i).*corrupt exif", "category": UserWarning})


def _allow_pil_pixels(max_pixels: int | None) -> None:
    """Make Pillow's own bomb check (an error above twice its limit) no stricter than ours."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None:
        return
    if max_pixels is None:
        Image.MAX_IMAGE_PIXELS = None
    elif max_pixels > 2 * limit:
        Image.MAX_IMAGE_PIXELS = max_pixels // 2 + 1


def _too_big(pixels: int, max_pixels: int | None) -> str:
    size = f"{_megapixels(pixels)} megapixels" if pixels else "the image"
    if max_pixels is None:
        return f"{size} exceeds Pillow's limit (raise it with --max-pixels)"
    return f"{size} exceeds the limit of {_megapixels(max_pixels)} megapixels (raise it with --max-pixels)"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}" if pixels >= 1e5 else f"{pixels / 1e6:.3g}"  # 0.0 would say nothing


class _Unsupported(Exception):
    """A decodable file whose pixel layout we do not convert (message: the reason)."""


# Formats people meet that we do not decode, by their first bytes.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
)


_READABLE = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"RIFF", "WebP"))


def _sniff(head: bytes) -> str:
    """Say what a file Pillow cannot identify looks like, from its first bytes."""
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip()
        if brand in {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"}:
            return "unsupported image format (HEIC; convert it to JPEG or PNG first)"
        if brand in {"avif", "avis"}:
            return "unsupported image format (AVIF; convert it to JPEG or PNG first)"
        return "not an image (looks like a video or MP4 file)"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "unsupported TIFF variant (Pillow cannot decode it, e.g. planar 16-bit RGB)"
    for signature, what in _READABLE:  # a format Pillow reads, with a header it cannot: damaged
        if head.startswith(signature) and (what != "WebP" or head[8:12] == b"WEBP"):
            return f"corrupt {what} header (the file starts like a {what} but cannot be read)"
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            return f"unsupported image format ({what})"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "unsupported image format (SVG vector image)"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:200] or b"<head" in text[:200]:
        return "not an image (looks like HTML text)"
    if _looks_like_text(head):
        return "not an image (looks like text)"
    return "unsupported image format"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    printable = sum(32 <= c < 127 or c in b"\t\r\n" or c >= 128 for c in head)
    return printable >= 0.95 * len(head)


def _decode(im: Image.Image, fp: BinaryIO) -> np.ndarray:
    """Decode all pixels of ``im`` (no silent grey padding) into (H, W, 3|4) uint8/uint16."""
    wide = im.mode in ("RGB", "RGBA") and _wide_rawmode(im) is not None  # Pillow clears tiles on load
    im.load()  # full decode; truncated data raise here (LOAD_TRUNCATED_IMAGES stays False)
    if wide:
        return _decode_wide(im, fp)
    mode = im.mode
    if mode in _GRAY16_MODES:
        return _gray3(np.asarray(im).astype(np.uint16))
    if mode == "I":
        return _gray3(np.clip(np.asarray(im), 0, 65535).astype(np.uint16))
    if mode == "F":
        return _gray3(_float_to_uint16(np.asarray(im)))
    if mode == "CMYK":
        return np.array(_cmyk_to_rgb(im))
    target = "RGBA" if im.has_transparency_data else "RGB"
    if mode == target:
        return np.array(im)
    try:
        return np.array(im.convert(target))
    except ValueError as exc:  # Pillow has no conversion for this mode
        raise _Unsupported(f"unsupported pixel format ({mode})") from exc


def _gray3(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=-1)


def _float_to_uint16(x: np.ndarray) -> np.ndarray:
    """Float grey (TIFF) to uint16, read as [0, 1], [0, 255] or [0, 65535] by its maximum."""
    x = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(x.max(initial=0.0))
    scale = 1.0 if peak <= 1 else 255.0 if peak <= 255 else 65535.0
    return from_float(x / scale, np.uint16)


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    """CMYK to sRGB: through the embedded ICC profile when there is one, else Pillow's formula."""
    icc = im.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # a broken or non-CMYK profile: fall back to the formula
            pass
    return im.convert("RGB")


def _wide_rawmode(im: Image.Image) -> tuple[str, str] | None:
    """(rawmode, its other-byte twin) when Pillow reduces 16-bit RGB(A) samples to 8 bits."""
    rawmodes = {_tile_rawmode(t) for t in im.tile}
    if len(rawmodes) != 1:
        return None
    raw = rawmodes.pop()
    if not isinstance(raw, str) or not raw.startswith(("RGB;16", "RGBA;16")):
        return None
    opposite_of_native = "16B" if sys.byteorder == "little" else "16L"
    swapped = {"16B": "16L", "16L": "16B", "16N": opposite_of_native}.get(raw[-3:])
    return (raw, raw[:-3] + swapped) if swapped else None


def _tile_rawmode(tile: Any) -> object:
    args = tile.args
    return args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None


def _decode_wide(im: Image.Image, fp: BinaryIO) -> np.ndarray:
    """Decode 16-bit RGB(A) PNG/TIFF losslessly.

    Pillow has no 16-bit RGB mode: its unpacker keeps the high byte of each sample. The
    same data decoded again with the byte-order twin of the raw mode ("RGB;16B" <->
    "RGB;16L") keeps the low byte instead; the two planes give the 16-bit values. When a
    twin decoder is missing the 8-bit image is returned with a warning.
    """
    high = np.asarray(im).astype(np.uint16)
    fp.seek(0)
    try:
        with Image.open(fp, formats=(im.format,)) as twin:
            _, swapped = _wide_rawmode(twin) or ("", "")
            twin.tile = [_with_rawmode(t, swapped) for t in twin.tile]
            twin.load()
            low = np.asarray(twin)
        if low.shape != high.shape:
            raise ValueError(f"twin decode gave shape {low.shape}, expected {high.shape}")
    except Exception:
        warnings.warn("16-bit colour image read as 8-bit (no lossless decoder for it)", stacklevel=4)
        return high.astype(np.uint8)
    return (high << 8) | low


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    """A copy of a Pillow tile (``ImageFile._Tile``) decoding with ``rawmode``."""
    args = rawmode if isinstance(tile.args, str) else (rawmode, *tile.args[1:])
    return tile._replace(args=args)


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1-8) of a loaded image; 1 when missing or unreadable."""
    try:
        with _quiet_pillow():
            value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # corrupt EXIF: show the pixels as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an (H, W, C) array, as ``ImageOps.exif_transpose`` does."""
    if orientation in (5, 7):  # transpose (5) / transverse (7)
        image = np.swapaxes(image, 0, 1)
    k = {3: 2, 6: 3, 7: 2, 8: 1}.get(orientation, 0)  # quarter turns counter-clockwise
    image = np.rot90(image, k)
    if orientation == 2:
        image = image[:, ::-1]
    elif orientation == 4:
        image = image[::-1]
    image = np.ascontiguousarray(image)
    if not image.flags.writeable:
        image = image.copy()
    return image


def _bit_depth(im: Image.Image) -> int:
    if im.mode == "1":
        return 1
    if im.mode in _GRAY16_MODES or (im.mode in ("RGB", "RGBA") and _wide_rawmode(im)):
        return 16
    if im.mode in ("I", "F"):
        return 32
    return 8


def _png_exif(fp: BinaryIO) -> bytes | None:
    """The eXIf chunk of a PNG, found by walking chunk headers (no pixel decoding)."""
    fp.seek(8)
    while header := fp.read(8):
        if len(header) < 8:
            return None
        length, kind = struct.unpack(">I4s", header)
        if kind == b"eXIf":
            return fp.read(length)
        if kind == b"IEND":
            return None
        fp.seek(length + 4, os.SEEK_CUR)
    return None


# --------------------------------------------------------------------------------------
# Writing


def imwrite(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    like: str | os.PathLike | Metadata | None = None,
    format: str | None = None,
    quality: int = 95,
) -> None:
    """Write an RGB(A) array to an image file atomically, keeping the metadata of ``like``.

    The data go to a temporary file in the target's folder, which is flushed to disk and
    then renamed over ``path``: readers see the old file or the whole new one, never a
    partial one, and the temporary file is removed on any failure.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; its suffix picks the format unless ``format`` is given.
    image : ndarray, shape (H, W, 3), (H, W, 4) or grey (H, W) / (H, W, 1)
        ``uint8``, ``uint16`` (written as 16-bit PNG/TIFF; other formats get 8 bits and a
        warning) or float in [0, 1] (written as 8-bit). Alpha is written where the format
        holds it; JPEG and BMP drop it with a warning.
    like : str, os.PathLike or Metadata, optional
        The input the image came from: its ICC profile (when it fits RGB or grey) and EXIF
        block are written where the format supports them, with the EXIF orientation set
        to 1 because :func:`imread` already turned the pixels upright.
    format : str, optional
        ``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"WEBP"``, ``"BMP"`` or ``"GIF"``.
    quality : int, optional
        JPEG and WebP quality, 1-100.

    Raises
    ------
    ValueError
        For an array that is not an image.
    ImageError
        For an unsupported format, an unreadable ``like`` file or a failed write.

    Notes
    -----
    EXIF is not written to 16-bit TIFF files (warning); the ICC profile is. Whether the
    output would overwrite the input is the caller's check: see :func:`same_file`.

    Examples
    --------
    >>> image = imread("scan.tif")  # doctest: +SKIP
    >>> imwrite("scan_colour.tif", image, like="scan.tif")  # doctest: +SKIP
    """
    fmt = _write_format(path, format)
    image = _check_image(image)
    meta = read_metadata(like) if isinstance(like, str | os.PathLike) else like
    image = _fit_to_format(image, fmt, path)
    icc = _fitting_icc(meta.icc_profile, image) if meta and fmt in _ICC_FORMATS else None
    exif = _exif_upright(meta.exif, path) if meta and meta.exif and fmt in _EXIF_FORMATS else None
    if exif and fmt == "TIFF" and image.dtype == np.uint16 and image.ndim == 3:
        warnings.warn(f"{path}: EXIF is not written to 16-bit TIFF files", stacklevel=2)
        exif = None
    try:
        atomic_write(Path(path), lambda fp: _encode(fp, image, fmt, icc=icc, exif=exif, quality=quality))
    except OSError as exc:
        raise ImageError(path, f"cannot write ({exc.strerror or exc})") from exc


def _write_format(path: str | os.PathLike, format: str | None) -> str:
    """Pillow format name from ``format`` or the suffix of ``path``."""
    if format is not None:
        fmt = _FORMAT_ALIASES.get(format.upper(), format.upper())
        wanted = format
    else:
        fmt = _WRITE_FORMATS.get(Path(path).suffix.lower(), "")
        wanted = Path(path).suffix or "(no suffix)"
    if fmt not in _WRITE_FORMATS.values():
        choices = ", ".join(sorted(_WRITE_FORMATS))
        raise ImageError(path, f"unsupported output format {wanted} (use one of {choices})")
    return fmt


def _check_image(image: np.ndarray) -> np.ndarray:
    """Validate an image to write; grey comes back as (H, W), floats as uint8."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] in (3, 4))) or 0 in image.shape:
        raise ValueError(f"image must have shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if np.issubdtype(image.dtype, np.floating):
        check_float_values(image, unit=False)  # floats are clipped to 0-1 here, as documented
        return from_float(image, np.uint8)
    if image.dtype.kind != "u" or image.dtype.itemsize > 2:
        raise ValueError(f"image must be uint8, uint16 or float, got {image.dtype}")
    return image.astype(image.dtype.newbyteorder("="), copy=False)


def _fit_to_format(image: np.ndarray, fmt: str, path: str | os.PathLike) -> np.ndarray:
    """Drop alpha and bits the format cannot hold, with a warning naming ``path``."""
    if image.ndim == 3 and image.shape[-1] == 4 and fmt not in _ALPHA_FORMATS:
        warnings.warn(f"{path}: {fmt} has no alpha channel: alpha dropped", stacklevel=3)
        image = image[..., :3]
    if image.dtype == np.uint16 and fmt not in _WIDE_FORMATS:
        warnings.warn(f"{path}: {fmt} holds 8 bits per channel: 16-bit image reduced to 8 bits", stacklevel=3)
        image = from_float(to_float(image), np.uint8)
    return np.ascontiguousarray(image)


def _fitting_icc(profile: bytes | None, image: np.ndarray) -> bytes | None:
    """The profile if its colour space is the image's (RGB or grey); a CMYK one would mislabel it."""
    space = b"GRAY" if image.ndim == 2 else b"RGB "
    return profile if profile and len(profile) >= 128 and profile[16:20] == space else None


def _exif_upright(exif: bytes, path: str | os.PathLike) -> bytes | None:
    """A copy of an EXIF block with the orientation set to 1; None (and a warning) if unreadable.

    The tag is patched in place rather than re-serialised, so maker notes and other
    offset-based data stay valid.
    """
    buf = bytearray(exif if exif.startswith(_EXIF_HEADER) else _EXIF_HEADER + exif)
    base = len(_EXIF_HEADER)
    try:
        order = {b"II": "<", b"MM": ">"}[bytes(buf[base : base + 2])]
        magic, offset = struct.unpack_from(order + "HI", buf, base + 2)
        if magic != 42:
            raise ValueError("bad TIFF magic")
        (count,) = struct.unpack_from(order + "H", buf, base + offset)
        for i in range(count):
            entry = base + offset + 2 + 12 * i
            tag, kind = struct.unpack_from(order + "HH", buf, entry)
            if tag == _ORIENTATION and kind == 3:  # SHORT
                struct.pack_into(order + "H", buf, entry + 8, 1)
    except (KeyError, ValueError, struct.error):
        warnings.warn(f"{path}: unreadable EXIF data not copied to the output", stacklevel=3)
        return None
    return bytes(buf)


def atomic_write(path: Path, write: Callable[[BinaryIO], object] | bytes) -> None:
    """Run ``write`` (or write these bytes) on a temporary file beside ``path``, fsync it,
    rename it over ``path``.

    Readers see the old file or the whole new one; on any failure the temporary file is
    removed and ``path`` is untouched (a killed process leaves one: :func:`remove_stale_temps`).
    A symlink is followed (the link stays, its target is replaced); a path that is not a
    regular file (``/dev/stdout``, a FIFO, ``>(jq .)``) cannot be renamed over and is written
    straight through."""
    if isinstance(write, bytes):
        data = write
        write = lambda fp: fp.write(data)  # noqa: E731
    path = Path(os.path.realpath(path))
    try:
        mode: int | None = os.stat(path).st_mode
    except OSError:  # not there yet
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "wb") as fp:
            write(fp)
        return
    tmp, fp = _create_temp(path)
    try:
        with fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        if mode is not None:  # keep the permissions of a file we replace
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _create_temp(path: Path) -> tuple[Path, BinaryIO]:
    """Create a new hidden temporary file in ``path``'s folder (mode 0o666 less the umask).

    The name carries the writer's host and process id so that :func:`remove_stale_temps` can
    tell the leftovers of a killed process from a file another process is still writing."""
    while True:
        tmp = path.with_name(f".{path.name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return tmp, open(tmp, "xb")  # noqa: SIM115 - closed by atomic_write
        except FileExistsError:
            continue


# a hash of the host name: a shared folder (NFS, Dask workers) holds other machines' temp files
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_TEMP_NAME = re.compile(r"^\..+\.([0-9a-f]{6})-(\d{1,10})-[0-9a-f]{8}\.tmp$")


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files that killed writers on this machine left in ``folder``
    (``kill -9`` or a power cut give no chance to clean up); files of a process still alive,
    or written from another machine, are kept. Returns the files removed."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _TEMP_NAME.match(entry.name)
            if match and match.group(1) == _HOST and not _process_alive(int(match.group(2))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # owned by someone else, or cannot tell: keep its file
    return True


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _encode(fp: BinaryIO, image: np.ndarray, fmt: str, *, icc: bytes | None, exif: bytes | None, quality: int) -> None:
    """Encode ``image`` (already fitted to ``fmt``) into the open file ``fp``."""
    if image.dtype == np.uint16 and image.ndim == 3 and fmt == "PNG":
        _write_png16(fp, image, icc=icc, exif=exif)
    elif image.dtype == np.uint16 and image.ndim == 3:
        _write_tiff16(fp, image, icc=icc)
    else:
        _write_pil(fp, image, fmt, icc=icc, exif=exif, quality=quality)


def _write_pil(
    fp: BinaryIO, image: np.ndarray, fmt: str, *, icc: bytes | None, exif: bytes | None, quality: int
) -> None:
    params: dict[str, object] = {}
    if icc:
        params["icc_profile"] = icc
    if exif:
        params["exif"] = exif
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = quality
    if fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
    if fmt == "PNG":
        params["compress_level"] = PNG_COMPRESS_LEVEL
    Image.fromarray(image).save(fp, format=fmt, **params)


def _write_tiff16(fp: BinaryIO, image: np.ndarray, *, icc: bytes | None) -> None:
    import tifffile

    tifffile.imwrite(
        fp,
        image,
        photometric="rgb",
        extrasamples=("unassalpha",) if image.shape[-1] == 4 else None,
        compression="zlib",
        iccprofile=icc,
        metadata=None,
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_png16(fp: BinaryIO, image: np.ndarray, *, icc: bytes | None, exif: bytes | None) -> None:
    """Write a 16-bit RGB(A) PNG (Pillow cannot): Sub-filtered rows, streamed in blocks."""
    h, w, c = image.shape
    fp.write(b"\x89PNG\r\n\x1a\n")
    fp.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6 if c == 4 else 2, 0, 0, 0)))
    if icc:
        fp.write(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
    if exif:
        fp.write(_png_chunk(b"eXIf", exif.removeprefix(_EXIF_HEADER)))
    bpp = 2 * c
    packer = zlib.compressobj(PNG_COMPRESS_LEVEL)
    for y in range(0, h, 256):
        raw = image[y : y + 256].astype(">u2").reshape(-1, w * c).view(np.uint8)
        rows = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
        rows[:, 0] = 1  # filter type Sub: byte minus the same byte of the previous pixel
        rows[:, 1 : bpp + 1] = raw[:, :bpp]
        np.subtract(raw[:, bpp:], raw[:, :-bpp], out=rows[:, bpp + 1 :])
        if data := packer.compress(rows.tobytes()):
            fp.write(_png_chunk(b"IDAT", data))
    fp.write(_png_chunk(b"IDAT", packer.flush()))
    fp.write(_png_chunk(b"IEND", b""))
