"""Files that are bad or odd in known ways, made on the fly (shared by the I/O and CLI tests)."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RNG = np.random.default_rng(0)


def noise(h: int = 24, w: int = 32, c: int = 3, dtype=np.uint8) -> np.ndarray:
    return RNG.integers(0, np.iinfo(dtype).max + 1, (h, w, c), dtype=dtype)


def encode(array_or_image, fmt: str, **params) -> bytes:
    im = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def exif_bytes(**tags: object) -> bytes:
    names = {"orientation": 0x0112, "make": 0x010F, "model": 0x0110}
    exif = Image.Exif()
    for name, value in tags.items():
        exif[names[name]] = value
    return exif.tobytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A real 1-bit PNG of width x height (all zero): a few kB on disk, a bomb when decoded."""
    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()



def make_zero(p: Path) -> Path:
    p = p / "x.jpg"
    p.write_bytes(b"")
    return p


def make_truncated_jpeg(p: Path) -> Path:
    data = encode(noise(64, 64), "JPEG", quality=90)
    (p := p / "x.jpg").write_bytes(data[: len(data) // 2])
    return p


def make_truncated_png(p: Path) -> Path:
    data = encode(noise(64, 64), "PNG")
    (p := p / "x.png").write_bytes(data[: len(data) * 2 // 3])
    return p


def make_zero_size_png(p: Path) -> Path:
    """A PNG whose header says 0 x 0 pixels (Pillow refuses to open it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 0, 0, 0, 0))
    (p := p / "zero.png").write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b""))
                                      + chunk(b"IEND", b""))
    return p


def make_text_jpg(p: Path) -> Path:
    (p := p / "notes.jpg").write_text("Shopping list\n- eggs\n- milk\n" * 10)
    return p


def make_html_png(p: Path) -> Path:
    (p := p / "x.png").write_text("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n")
    return p


def make_pdf_tif(p: Path) -> Path:
    (p := p / "x.tif").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    return p


def make_svg(p: Path) -> Path:
    (p := p / "x.svg").write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4"/>\n')
    return p


def make_random_bytes(p: Path) -> Path:
    (p := p / "x.tif").write_bytes(b"\x00\x01\x02\x03" + RNG.integers(0, 256, 200, dtype=np.uint8).tobytes())
    return p


def make_heic(p: Path) -> Path:
    (p := p / "IMG_0001.jpg").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    return p


def make_folder(p: Path) -> Path:
    (p := p / "photos.jpg").mkdir()
    return p


def make_missing(p: Path) -> Path:
    return p / "nope.png"


def make_bomb(p: Path) -> Path:
    return bomb_png(p / "big.png", 10_000, 10_000)


def make_huge_bomb(p: Path) -> Path:  # beyond Pillow's own error threshold: its error is translated
    return bomb_png(p / "huge.png", 20_000, 10_000)


_OVER_LIMIT = "exceeds the limit of 64.0 megapixels (raise it with --max-pixels)"
BAD = {
    "zero bytes": (make_zero, "empty file (0 bytes)"),
    "truncated jpeg": (make_truncated_jpeg, "truncated or corrupt image data"),
    "truncated png": (make_truncated_png, "truncated or corrupt image data"),
    "0 x 0 png": (make_zero_size_png, "corrupt PNG header (the file starts like a PNG but cannot be read)"),
    "text named .jpg": (make_text_jpg, "not an image (looks like text)"),
    "html named .png": (make_html_png, "not an image (looks like HTML text)"),
    "pdf named .tif": (make_pdf_tif, "unsupported image format (a PDF document)"),
    "svg": (make_svg, "unsupported image format (SVG vector image)"),
    "unknown binary": (make_random_bytes, "unsupported image format"),
    "heic named .jpg": (make_heic, "unsupported image format (HEIC; convert it to JPEG or PNG first)"),
    "folder": (make_folder, "is a folder"),
    "missing": (make_missing, "no such file"),
    "100 MP bomb": (make_bomb, f"100.0 megapixels {_OVER_LIMIT}"),
    "200 MP bomb": (make_huge_bomb, f"200.0 megapixels {_OVER_LIMIT}"),
}
