"""tinct.io: every kind of bad input as a real file, modes, bit depths, metadata, atomic writes."""

from __future__ import annotations

import os
import pickle
import stat
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from _corpus import (
    BAD,
    RNG,
    encode,
    exif_bytes,
    make_bomb,
    make_html_png,
    make_truncated_jpeg,
    make_zero,
    noise,
    png_chunk,
    sha,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageCms, ImageOps

import tinct.io as tio
from tinct.io import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    Metadata,
    atomic_write,
    find_images,
    from_float,
    imread,
    imwrite,
    read_metadata,
    remove_stale_temps,
    same_file,
    to_float,
)

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ----------------------------------------------------------------------------- helpers

def pillow(path: Path, op=lambda im: im) -> np.ndarray:
    """What Pillow itself makes of a file (the file is closed again)."""
    with Image.open(path) as im:
        return np.asarray(op(im))


def pillow_exif(path: Path) -> Image.Exif:
    with Image.open(path) as im:
        return im.getexif()


def exif_of(path: Path) -> Image.Exif:
    exif = Image.Exif()
    meta = read_metadata(path)
    if meta.exif:
        exif.load(meta.exif)
    return exif


# ----------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_is_one_short_error(tmp_path, kind):
    make, reason = BAD[kind]
    path = make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning or other noise either
        with pytest.raises(ImageError) as info:
            imread(path)
    assert str(info.value) == f"{path}: {reason}"
    assert info.value.path == str(path) and info.value.reason == reason
    assert isinstance(info.value, ValueError)


def test_bad_input_is_also_refused_by_read_metadata(tmp_path):
    with pytest.raises(ImageError, match="not an image"):
        read_metadata(make_html_png(tmp_path))
    with pytest.raises(ImageError, match="empty file"):
        imwrite(tmp_path / "out.png", noise(), like=make_zero(tmp_path))


def test_bomb_file_is_small_and_checked_from_the_header(tmp_path):
    path = make_bomb(tmp_path)
    assert path.stat().st_size < 100_000
    meta = read_metadata(path)  # metadata of a huge file is still readable: no pixels decoded
    assert (meta.format, meta.mode, meta.bit_depth) == ("PNG", "1", 1)


def test_imwrite_refuses_nan(tmp_path):
    with pytest.raises(ValueError, match="NaN or infinite"):  # it wrote a black photo
        imwrite(tmp_path / "a.png", np.full((4, 4, 3), np.nan, np.float32))
    assert not list(tmp_path.iterdir())


def test_pixel_limit_boundary(tmp_path):
    assert 50_000_000 <= DEFAULT_MAX_PIXELS < 100_000_000  # a 50 MP scan loads, a 100 MP bomb does not
    path = tmp_path / "x.png"
    Image.fromarray(noise(10, 20)).save(path)
    assert imread(path, max_pixels=200).shape == (10, 20, 3)
    assert imread(path, max_pixels=None).shape == (10, 20, 3)
    # a tiny limit still reads as a number (it once printed "0.0 megapixels exceeds the limit of 0.0")
    with pytest.raises(ImageError, match=r"0\.0002 megapixels exceeds the limit of 0\.000199 megapixels \(raise"):
        imread(path, max_pixels=199)


def test_error_pickles(tmp_path):
    err = ImageError(tmp_path / "x.jpg", "empty file (0 bytes)")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.reason == err.reason


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "x.jpg"
    path.write_bytes(encode(noise(), "JPEG"))
    path.chmod(0)
    try:
        with pytest.raises(ImageError, match=r"x\.jpg: permission denied$"):
            imread(path)
    finally:
        path.chmod(0o644)


# ----------------------------------------------------------------------------- good inputs


@pytest.mark.parametrize("shape", [(1, 1), (1, 10_000), (10_000, 1)])
def test_extreme_shapes(tmp_path, shape):
    image = noise(*shape)
    path = tmp_path / "x.png"
    Image.fromarray(image).save(path)
    out = imread(path)
    np.testing.assert_array_equal(out, image)
    assert out.flags.writeable and out.flags.c_contiguous


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP", "WEBP"])
def test_lossless_formats_read_exactly(tmp_path, fmt):
    image = noise()
    path = tmp_path / "x.img"
    path.write_bytes(encode(image, fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    out = imread(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, image)


def test_real_photo_round_trip(tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.astronaut()
    imwrite(tmp_path / "a.png", photo)
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), photo)
    imwrite(tmp_path / "a.jpg", photo)
    out = imread(tmp_path / "a.jpg")
    assert out.shape == photo.shape and np.abs(out.astype(int) - photo).mean() < 3


def test_wrong_extension_is_read_by_content(tmp_path):
    image = noise()
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(encode(image, "PNG"))
    np.testing.assert_array_equal(imread(path), image)
    assert read_metadata(path).format == "PNG"


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.fromarray(noise(16, 16, 4), "CMYK")
    path = tmp_path / "print.jpg"
    cmyk.save(path, quality=100)
    out = imread(path)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    expected = pillow(path, lambda im: im.convert("RGB"))
    np.testing.assert_array_equal(out, expected)
    assert read_metadata(path).mode == "CMYK"


def test_cmyk_with_a_profile_that_does_not_fit_falls_back(tmp_path):
    path = tmp_path / "print.jpg"
    Image.fromarray(noise(16, 16, 4), "CMYK").save(path, icc_profile=SRGB_ICC)  # RGB profile on CMYK data
    assert imread(path).shape == (16, 16, 3)


def wide_png(image: np.ndarray) -> bytes:
    """An independent 16-bit PNG encoder (filter None, one IDAT) for reading tests."""
    h, w, c = image.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), image.astype(">u2").reshape(h, -1).view(np.uint8)], 1)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, {3: 2, 4: 6}[c], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_png_round_trip_is_exact(tmp_path, channels):
    image = noise(23, 41, channels, np.uint16)
    path = tmp_path / "deep.png"
    imwrite(path, image)
    out = imread(path)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, image)
    assert read_metadata(path).bit_depth == 16
    # Our writer's file is a valid PNG for Pillow too (it keeps the high bytes).
    np.testing.assert_array_equal(pillow(path), (image >> 8).astype(np.uint8))
    # And files from another encoder read exactly.
    (other := tmp_path / "other.png").write_bytes(wide_png(image))
    np.testing.assert_array_equal(imread(other), image)


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_tiff_round_trip_is_exact(tmp_path, channels):
    image = noise(23, 41, channels, np.uint16)
    path = tmp_path / "deep.tif"
    imwrite(path, image)
    out = imread(path)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, image)
    assert read_metadata(path).bit_depth == 16


@pytest.mark.parametrize(
    "options",
    [
        {"compression": None},
        {"compression": None, "byteorder": ">"},
        {"compression": "zlib", "predictor": True},
        {"compression": None, "planarconfig": "separate"},
    ],
    ids=["raw-le", "raw-be", "deflate-predictor", "planar"],
)
def test_16bit_tiff_variants_from_tifffile(tmp_path, options):
    tifffile = pytest.importorskip("tifffile")
    image = noise(19, 27, 3, np.uint16)
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, image, photometric="rgb", metadata=None, **options)
    if options.get("planarconfig") == "separate":  # Pillow has no decoder for it: say so
        with pytest.raises(ImageError, match="unsupported TIFF variant"):
            imread(path)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = imread(path)
    if out.dtype == np.uint8:  # a layout Pillow has no lossless path for: 8 bits and a warning
        assert any("read as 8-bit" in str(w.message) for w in caught)
        np.testing.assert_array_equal(out, image >> 8)
    else:
        np.testing.assert_array_equal(out, image)


def test_16bit_gray_png_and_tiff(tmp_path):
    gray = RNG.integers(0, 65536, (9, 13), dtype=np.uint16)
    for name in ("g.png", "g.tif"):
        Image.fromarray(gray).save(tmp_path / name)
        out = imread(tmp_path / name)
        assert out.dtype == np.uint16 and out.shape == (9, 13, 3)
        for c in range(3):
            np.testing.assert_array_equal(out[..., c], gray)


def test_32bit_int_and_float_tiff(tmp_path):
    ints = RNG.integers(0, 65536, (5, 6)).astype(np.int32)
    Image.fromarray(ints, "I").save(tmp_path / "i.tif")
    out = imread(tmp_path / "i.tif")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[..., 0], ints)
    floats = RNG.random((5, 6), dtype=np.float32)
    Image.fromarray(floats, "F").save(tmp_path / "f.tif")
    out = imread(tmp_path / "f.tif")
    assert out.dtype == np.uint16
    np.testing.assert_allclose(out[..., 1] / 65535, floats, atol=1e-4)


def test_palette_with_transparency_is_rgba(tmp_path):
    im = Image.new("P", (4, 3), 0)
    im.putpalette([10, 20, 30, 200, 100, 50])
    im.putpixel((1, 1), 1)
    im.save(tmp_path / "p.png", transparency=0)
    out = imread(tmp_path / "p.png")
    assert out.shape == (3, 4, 4)
    np.testing.assert_array_equal(out[1, 1], [200, 100, 50, 255])
    np.testing.assert_array_equal(out[0, 0], [10, 20, 30, 0])
    im.save(tmp_path / "opaque.png")
    assert imread(tmp_path / "opaque.png").shape == (3, 4, 3)


def test_gray_modes(tmp_path):
    la = np.stack([noise(6, 7, 1)[..., 0], noise(6, 7, 1)[..., 0]], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    out = imread(tmp_path / "la.png")
    assert out.shape == (6, 7, 4)
    np.testing.assert_array_equal(out[..., :3], np.repeat(la[..., :1], 3, -1))
    np.testing.assert_array_equal(out[..., 3], la[..., 1])

    gray = noise(6, 7, 1)[..., 0]
    Image.fromarray(gray, "L").save(tmp_path / "l.jpg", quality=100)
    out = imread(tmp_path / "l.jpg")
    assert out.shape == (6, 7, 3) and (out[..., 0] == out[..., 2]).all()

    Image.fromarray(gray > 128).save(tmp_path / "bw.png")  # mode "1"
    out = imread(tmp_path / "bw.png")
    np.testing.assert_array_equal(out[..., 0], np.where(gray > 128, 255, 0))


def test_rgba_png_keeps_alpha(tmp_path):
    image = noise(5, 6, 4)
    Image.fromarray(image).save(tmp_path / "a.png")
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), image)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    image = noise(3, 5)
    path = tmp_path / "o.png"
    Image.fromarray(image).save(path, exif=exif_bytes(orientation=orientation))
    expected = pillow(path, ImageOps.exif_transpose)
    np.testing.assert_array_equal(imread(path), expected)


def test_exif_rotated_jpeg_and_written_orientation(tmp_path):
    image = noise(16, 32)
    src = tmp_path / "phone.jpg"
    Image.fromarray(image).save(src, quality=100, exif=exif_bytes(orientation=6, make="tinct-cam"))
    out = imread(src)
    assert out.shape == (32, 16, 3)  # orientation 6: turned 90 degrees clockwise
    np.testing.assert_array_equal(out, pillow(src, ImageOps.exif_transpose))
    dst = tmp_path / "colour.jpg"
    imwrite(dst, out, like=src)
    exif = exif_of(dst)
    assert exif[0x0112] == 1 and exif[0x010F] == "tinct-cam"
    assert imread(dst).shape == (32, 16, 3)  # not turned twice
    assert exif_of(src)[0x0112] == 6  # the input is untouched


def test_tiff_orientation_is_applied_once(tmp_path):
    image = noise(4, 6)
    Image.fromarray(image).save(tmp_path / "o.tif", tiffinfo={0x0112: 6})
    np.testing.assert_array_equal(imread(tmp_path / "o.tif"), np.rot90(image, -1))
    tifffile = pytest.importorskip("tifffile")
    wide = noise(4, 6, 3, np.uint16)
    tifffile.imwrite(tmp_path / "w.tif", wide, photometric="rgb", extratags=[(0x0112, "H", 1, 8, True)])
    np.testing.assert_array_equal(imread(tmp_path / "w.tif"), np.rot90(wide, 1))


@pytest.mark.parametrize(
    "exif",
    [b"Exif\x00\x00" + b"\xde\xad\xbe\xef" * 8, b"Exif\x00\x00MM\x00*\x00\x00\xff\xff", exif_bytes(orientation=9)],
    ids=["garbage", "bad-offset", "orientation-9"],
)
def test_corrupt_exif_is_ignored(tmp_path, exif):
    image = noise(8, 12)
    src = tmp_path / "bad_exif.jpg"
    Image.fromarray(image).save(src, quality=100, exif=exif)
    out = imread(src)
    assert out.shape == (8, 12, 3)  # no rotation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable EXIF is dropped with a warning
        imwrite(tmp_path / "out.jpg", out, like=src)
    assert imread(tmp_path / "out.jpg").shape == (8, 12, 3)


def test_unreadable_exif_is_dropped_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="EXIF"):
        imwrite(tmp_path / "x.jpg", noise(), like=Metadata(exif=b"Exif\x00\x00not tiff at all"))
    assert read_metadata(tmp_path / "x.jpg").exif is None


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_gives_first_frame(tmp_path, fmt):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (8, 6), c) for c in colours]
    path = tmp_path / f"anim.{fmt.lower()}"
    params = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, **params)
    with Image.open(path) as im:
        assert getattr(im, "n_frames", 1) == 3
    out = imread(path)
    assert out.shape[:2] == (6, 8)
    np.testing.assert_array_equal(out[..., :3].reshape(-1, 3), np.tile([255, 0, 0], (48, 1)))


def test_mpo_from_a_phone_gives_the_main_picture(tmp_path):
    path = tmp_path / "phone.jpg"
    main, depth = Image.new("RGB", (8, 6), (200, 10, 10)), Image.new("RGB", (4, 3), (0, 0, 0))
    main.save(path, "MPO", save_all=True, append_images=[depth], quality=100)
    out = imread(path)
    assert out.shape == (6, 8, 3) and abs(int(out[..., 0].mean()) - 200) < 3


def test_real_animated_gif():
    skimage_data = pytest.importorskip("skimage.data")
    path = Path(skimage_data.__file__).parent / "no_time_for_that_tiny.gif"
    if not path.exists():
        pytest.skip("scikit-image data file missing")
    before = sha(path)
    out = imread(path)
    assert out.ndim == 3 and out.shape[2] in (3, 4) and out.dtype == np.uint8
    assert sha(path) == before


# ----------------------------------------------------------------------------- metadata on write


@pytest.fixture
def tagged_jpeg(tmp_path) -> Path:
    path = tmp_path / "tagged.jpg"
    Image.fromarray(noise(12, 20)).save(
        path, quality=95, icc_profile=SRGB_ICC, exif=exif_bytes(orientation=6, make="tinct-cam", model="T1")
    )
    return path


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_icc_and_exif_kept_on_write(tmp_path, tagged_jpeg, suffix):
    image = imread(tagged_jpeg)
    dst = tmp_path / f"out{suffix}"
    imwrite(dst, image, like=tagged_jpeg)
    meta = read_metadata(dst)
    assert meta.icc_profile == SRGB_ICC
    exif = exif_of(dst) if suffix != ".tif" else pillow_exif(dst)
    assert exif.get(0x010F) == "tinct-cam" and exif.get(0x0110) == "T1"
    assert exif.get(0x0112, 1) == 1
    assert imread(dst).shape == image.shape


def test_metadata_kept_on_16bit_png(tmp_path, tagged_jpeg):
    dst = tmp_path / "deep.png"
    imwrite(dst, noise(4, 4, 3, np.uint16), like=read_metadata(tagged_jpeg))
    meta = read_metadata(dst)
    assert meta.icc_profile == SRGB_ICC and meta.bit_depth == 16
    assert exif_of(dst)[0x010F] == "tinct-cam" and exif_of(dst)[0x0112] == 1


def test_16bit_tiff_keeps_icc_and_warns_about_exif(tmp_path, tagged_jpeg):
    dst = tmp_path / "deep.tif"
    with pytest.warns(UserWarning, match="EXIF"):
        imwrite(dst, noise(4, 4, 3, np.uint16), like=tagged_jpeg)
    assert read_metadata(dst).icc_profile == SRGB_ICC


def test_non_rgb_profile_is_not_copied(tmp_path):
    cmyk_profile = bytes(16) + b"CMYK" + bytes(108)
    imwrite(tmp_path / "x.jpg", noise(), like=Metadata(icc_profile=cmyk_profile))
    assert read_metadata(tmp_path / "x.jpg").icc_profile is None


def test_read_metadata_fields(tmp_path, tagged_jpeg):
    meta = read_metadata(tagged_jpeg)
    assert (meta.format, meta.mode, meta.bit_depth) == ("JPEG", "RGB", 8)
    assert meta.icc_profile == SRGB_ICC and meta.exif.startswith(b"Exif\x00\x00")
    plain = tmp_path / "plain.png"
    Image.fromarray(noise()).save(plain)
    assert read_metadata(plain) == Metadata(format="PNG", mode="RGB", bit_depth=8)


def test_png_exif_after_image_data_is_found(tmp_path):
    """Pillow reads an eXIf chunk that follows IDAT only on a full load; we walk the chunks."""
    data = encode(noise(4, 4), "PNG")
    exif = exif_bytes(make="late")
    tail = data.index(b"IEND") - 4
    (path := tmp_path / "late.png").write_bytes(data[:tail] + png_chunk(b"eXIf", exif[6:]) + data[tail:])
    assert exif_of(path)[0x010F] == "late"


def test_inputs_are_byte_identical_after_use(tmp_path, tagged_jpeg):
    wide = tmp_path / "wide.png"
    imwrite(wide, noise(5, 5, 4, np.uint16))
    paths = [tagged_jpeg, wide, make_truncated_jpeg(tmp_path)]
    before = [sha(p) for p in paths]
    stamps = [p.stat().st_mtime_ns for p in paths]
    for p in paths:
        try:
            imwrite(tmp_path / "o.png", imread(p), like=p)
        except ImageError:
            pass
    assert [sha(p) for p in paths] == before
    assert [p.stat().st_mtime_ns for p in paths] == stamps


# ----------------------------------------------------------------------------- writing


def test_alpha_and_depth_conversions_warn(tmp_path):
    with pytest.warns(UserWarning, match="alpha dropped"):
        imwrite(tmp_path / "a.jpg", noise(c=4))
    assert imread(tmp_path / "a.jpg").shape[2] == 3
    with pytest.warns(UserWarning, match="reduced to 8 bits"):
        imwrite(tmp_path / "d.webp", noise(dtype=np.uint16))
    assert imread(tmp_path / "d.webp").dtype == np.uint8
    imwrite(tmp_path / "a.webp", noise(c=4))
    assert imread(tmp_path / "a.webp").shape[2] == 4


def test_float_input_written_as_8bit(tmp_path):
    image = RNG.random((6, 7, 3))
    imwrite(tmp_path / "f.png", image)
    np.testing.assert_array_equal(imread(tmp_path / "f.png"), from_float(image, np.uint8))


def test_format_from_argument_and_suffix(tmp_path):
    imwrite(tmp_path / "x.data", noise(), format="jpg")
    assert read_metadata(tmp_path / "x.data").format == "JPEG"
    imwrite(tmp_path / "y.TIFF", noise())
    assert read_metadata(tmp_path / "y.TIFF").format == "TIFF"
    with pytest.raises(ImageError, match=r"x\.heic: unsupported output format \.heic"):
        imwrite(tmp_path / "x.heic", noise())
    with pytest.raises(ImageError, match="unsupported output format"):
        imwrite(tmp_path / "x.png", noise(), format="jp2")
    assert sorted(os.listdir(tmp_path)) == ["x.data", "y.TIFF"]


def test_quality_changes_jpeg_size(tmp_path):
    image = noise(64, 64)
    imwrite(tmp_path / "lo.jpg", image, quality=20)
    imwrite(tmp_path / "hi.jpg", image, quality=98)
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(4, np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        np.zeros((4, 4, 3), np.int32),
    ],
    ids=["1d", "2-channels", "empty", "int32"],
)
def test_write_rejects_non_images(tmp_path, bad):
    with pytest.raises(ValueError, match="image must"):
        imwrite(tmp_path / "x.png", bad)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg", ".webp"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grey_arrays_are_written_as_grey(tmp_path, suffix, dtype):
    gray = noise(9, 11, 1, dtype)
    path = tmp_path / f"g{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 16 -> 8 bits for JPEG/WebP
        imwrite(path, gray, like=Metadata(icc_profile=SRGB_ICC))  # an RGB profile does not fit grey
    meta = read_metadata(path)
    assert meta.icc_profile is None
    out = imread(path)
    assert out.shape == (9, 11, 3)
    if suffix in (".png", ".tif"):
        assert meta.mode in ("L", "I;16") and out.dtype == dtype
        np.testing.assert_array_equal(out[..., 1], gray[..., 0])


def test_write_into_missing_folder_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="cannot write"):
        imwrite(tmp_path / "no" / "such" / "x.png", noise())


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), RuntimeError("encoder crashed")])
@pytest.mark.parametrize("existing", [True, False])
def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, error, existing):
    target = tmp_path / "out.png"
    if existing:
        imwrite(target, noise())
    before = sha(target) if existing else None

    def broken_encoder(fp, *args, **kwargs):  # a disk that fills up half-way through
        fp.write(b"\x89PNG\r\n\x1a\n" + bytes(1000))
        raise error

    monkeypatch.setattr(tio, "_encode", broken_encoder)
    with pytest.raises(ImageError if isinstance(error, OSError) else RuntimeError) as info:
        imwrite(target, noise())
    if isinstance(error, OSError):
        assert str(info.value) == f"{target}: cannot write (No space left on device)"
    assert os.listdir(tmp_path) == (["out.png"] if existing else [])
    if existing:
        assert sha(target) == before


def test_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "out.png"
    imwrite(target, noise())
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    target.chmod(0o600)
    image = noise()
    imwrite(target, image)
    np.testing.assert_array_equal(imread(target), image)
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["out.png"]


def test_atomic_write_keeps_links_and_writes_through_pipes(tmp_path):
    import threading

    target = tmp_path / "target.json"
    target.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"  # the link survives, its target changes
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    atomic_write(fifo, lambda fp: fp.write(b'{"a": 1}'))  # e.g. --json /dev/stdout or >(jq .)
    reader.join(10)
    assert got == [b'{"a": 1}'] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["fifo.json", "link.json", "target.json"]  # no temp left


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    host = tio._HOST
    other = "000000" if host != "000000" else "111111"
    stale = tmp_path / f".a.png.{host}-{int(dead.stdout)}-0123abcd.tmp"
    kept = [
        tmp_path / f".b.png.{host}-{os.getpid()}-89abcdef.tmp",  # a writer still at work
        tmp_path / f".c.png.{other}-{int(dead.stdout)}-0123abcd.tmp",  # another machine's
        tmp_path / f".d.png.{host}-9999999999-0123abcd.tmp",  # a pid the OS cannot even hold: cannot tell, keep
        tmp_path / ".notes.tmp",  # not ours
    ]
    for p in (stale, *kept):
        p.write_bytes(b"half a PNG")
    assert remove_stale_temps(tmp_path) == [stale]
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in kept)
    assert remove_stale_temps(tmp_path / "missing") == []


def test_same_file(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(a)
    os.link(a, tmp_path / "hard.png")
    (tmp_path / "b.png").write_bytes(b"x")
    assert same_file(a, tmp_path / "link.png") and same_file(a, tmp_path / "hard.png")
    assert same_file(a, tmp_path / "sub" / ".." / "a.png")
    assert not same_file(a, tmp_path / "b.png")
    assert same_file(tmp_path / "new.png", tmp_path / "." / "new.png")
    assert not same_file(a, tmp_path / "new.png")


# ----------------------------------------------------------------------------- dtype helpers


def test_to_float_and_back():
    for dtype in (np.uint8, np.uint16):
        x = np.array([0, 1, np.iinfo(dtype).max // 2, np.iinfo(dtype).max], dtype)
        f = to_float(x)
        assert f.dtype == np.float32 and f.min() == 0 and f.max() == 1
        np.testing.assert_array_equal(from_float(f, dtype), x)
        np.testing.assert_array_equal(from_float(f, x), x)
    f64 = np.array([0.25, 0.5])
    assert to_float(f64).dtype == np.float32 and to_float(f64, np.float64) is f64
    np.testing.assert_array_equal(from_float(np.array([-1.0, np.nan, 2.0]), np.uint8), [0, 0, 255])
    assert from_float(np.array([1.5]), np.float32).tolist() == [1.0]
    with pytest.raises(ValueError, match="dtype"):
        from_float(np.zeros(2), np.bool_)


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(st.sampled_from([np.uint8, np.uint16]), hnp.array_shapes(max_dims=3, max_side=5)))
def test_float_round_trip_is_exact(x):
    np.testing.assert_array_equal(from_float(to_float(x), x.dtype), x)
    np.testing.assert_array_equal(from_float(to_float(x, np.float64), x.dtype), x)


# ----------------------------------------------------------------------------- finding files


def test_find_images_nested_with_symlink_loop(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a/1.jpg", "a/b/2.PNG", "a/b/notes.txt", "a/.x.jpg", ".hidden/3.jpg", "0.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "a" / "b" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = list(find_images([tmp_path, tmp_path / "given.jpg"]))
    rel = [p.relative_to(tmp_path).as_posix() for p in found]
    assert rel == ["0.tif", "a/1.jpg", "a/b/2.PNG", "given.jpg"]


def test_find_images_reads_txt_lists(tmp_path):
    (tmp_path / "scans.txt").mkdir()  # a folder named like a list is a folder
    (tmp_path / "scans.txt" / "f.jpg").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s.png").write_bytes(b"")
    (tmp_path / "inner.txt").write_text("x.jpg\n")
    (tmp_path / "list.txt").write_text("# folders are searched, lists inside lists are not read\n"
                                       "sub\n\n/abs/y.jpg\ninner.txt\nscans.txt\n")
    found = [p.as_posix() for p in find_images([tmp_path / "list.txt", tmp_path / "scans.txt"])]
    base = tmp_path.as_posix()
    assert found == [f"{base}/sub/s.png", "/abs/y.jpg", f"{base}/inner.txt", f"{base}/scans.txt/f.jpg",
                     f"{base}/scans.txt/f.jpg"]
    (tmp_path / "latin1.txt").write_bytes("caf\xe9.jpg\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt: not a readable list of photos"):
        list(find_images([tmp_path / "latin1.txt"]))
    # a text file given by mistake: no line names a file (a list with some missing ones is a batch)
    (tmp_path / "notes.txt").write_text("remember the milk\nhello world\n")
    with pytest.raises(ValueError, match=r"notes.txt: .* no line of it names an existing file or folder \(2 tried"):
        list(find_images([tmp_path / "notes.txt"]))
    (tmp_path / "elsewhere.txt").write_text("/no/such/machine/a.jpg\n")  # absolute paths from another machine
    with pytest.raises(ValueError, match=r"elsewhere.txt: .* \(1 tried, the first: /no/such/machine/a.jpg\)"):
        list(find_images([tmp_path / "elsewhere.txt"]))


def test_concurrent_reads_leave_the_warning_filters_as_they_were(tmp_path):
    """imread silences Pillow's warnings with catch_warnings, which is process-wide state: reads in
    several threads (tinct serve, batch workers) must not leave one thread's filters behind."""
    import threading

    src = tmp_path / "bad_exif.jpg"
    Image.fromarray(noise(8, 12)).save(src, exif=b"Exif\x00\x00" + b"\xde\xad\xbe\xef" * 8)
    before = list(warnings.filters)
    errors: list[BaseException] = []

    def read_many() -> None:
        try:
            for _ in range(200):
                imread(src)
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=read_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert warnings.filters == before
