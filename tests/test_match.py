"""tinct.match.transfer: API, validation, dtypes, alpha, strength, mask, luminance, palettes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tinct.color.lab import rgb_to_lab
from tinct.match import BASE_METHODS, METHODS, Palette, parse_method, transfer


@pytest.fixture(scope="module")
def pair(photos):
    # astronaut recoloured with coffee, at a quarter of the pixels to keep the tests quick
    return photos["astronaut"][::2, ::2].copy(), photos["coffee"][::2, ::2].copy()


def test_methods_listed():
    assert METHODS[:7] == ("mkl", "mvgd", "reinhard", "reinhard-lab", "hm", "idt", "sot")
    assert "hm-mkl-hm" in METHODS and "hm-mvgd-hm" in METHODS
    assert set(BASE_METHODS) <= set(METHODS)


def test_parse_method_chains():
    assert parse_method("hm-mkl-hm") == ("hm", "mkl", "hm")
    assert parse_method("reinhard-lab") == ("reinhard-lab",)
    assert parse_method("HM-Reinhard-Lab-idt") == ("hm", "reinhard-lab", "idt")


@pytest.mark.parametrize("bad", ["nope", "hm-", "lab", "", "mkl-foo"])
def test_unknown_method_lists_valid_ones(pair, bad):
    src, ref = pair
    with pytest.raises(ValueError, match="valid methods: mkl, mvgd, reinhard"):
        transfer(src, ref, bad)


@pytest.mark.parametrize(
    "image, msg",
    [
        (np.zeros((4, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 3), np.int32), "dtype"),
        (np.zeros((4, 4, 3), bool), "dtype"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
    ],
)
def test_bad_images_raise(pair, image, msg):
    src, ref = pair
    with pytest.raises(ValueError, match=msg):
        transfer(image, ref)
    with pytest.raises(ValueError, match=msg):
        transfer(src, image)


def test_bad_options_raise(pair):
    src, ref = pair
    for s in (-0.1, 1.5, float("nan"), "x"):
        with pytest.raises(ValueError, match="strength"):
            transfer(src, ref, strength=s)
    with pytest.raises(ValueError, match="mask must have shape"):
        transfer(src, ref, mask=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="mask must be bool or float"):
        transfer(src, ref, mask=np.ones(src.shape[:2], np.uint8))
    with pytest.raises(ValueError, match="mask values"):
        transfer(src, ref, mask=np.full(src.shape[:2], 2.0))
    with pytest.raises(ValueError, match="seed"):
        transfer(src, ref, seed=-1)
    with pytest.raises(ValueError, match="reference"):
        transfer(src, "coffee.png")


@pytest.mark.parametrize("method", METHODS)
def test_strength_zero_is_identity_exactly(pair, method):
    src, ref = pair
    out = transfer(src, ref, method, strength=0.0)
    assert out.dtype == np.uint8 and np.array_equal(out, src) and out is not src


@pytest.mark.parametrize("method", ["mkl", "hm", "reinhard"])
def test_dtype_round_trips(pair, method):
    src8, ref = pair
    src16 = src8.astype(np.uint16) * 257
    srcf = src8.astype(np.float64) / 255
    out8 = transfer(src8, ref, method)
    out16 = transfer(src16, ref, method)
    outf = transfer(srcf, ref, method)
    assert out8.dtype == np.uint8 and out16.dtype == np.uint16 and outf.dtype == np.float32
    assert out8.shape == out16.shape == outf.shape == src8.shape
    assert 0 <= outf.min() and outf.max() <= 1
    # the same photo at three bit depths gives the same colours (to within one 8-bit level)
    assert np.abs(out16 / 65535 - out8 / 255).max() <= 1.01 / 255
    assert np.abs(outf - out8 / 255).max() <= 0.51 / 255


@pytest.mark.parametrize("method", ["mkl", "hm", "idt"])
def test_alpha_untouched_and_transparent_pixels_ignored(pair, method):
    src, ref = pair
    h, w, _ = src.shape
    alpha = np.full((h, w), 200, np.uint8)
    alpha[:, : w // 2] = 0
    alpha[0, -1] = 17
    rgba = np.dstack([src, alpha])
    out = transfer(rgba, ref, method)
    assert out.shape == (h, w, 4) and np.array_equal(out[..., 3], alpha)
    if method != "idt":  # (idt draws a random sample, which differs between the two images)
        # the map is fitted on the opaque pixels only: as if the opaque half were the photo
        half = transfer(src[:, w // 2 :], ref, method)
        assert np.abs(out[:, w // 2 :, :3].astype(int) - half).max() <= 1
    # an opaque alpha in the reference changes nothing
    ref_alpha = np.dstack([ref, np.full(ref.shape[:2], 255, np.uint8)])
    assert np.array_equal(transfer(rgba, ref_alpha, method), out)
    # 16-bit and float RGBA keep their alpha too
    rgba16 = rgba.astype(np.uint16) * 257
    assert np.array_equal(transfer(rgba16, ref, method)[..., 3], alpha.astype(np.uint16) * 257)
    rgbaf = rgba.astype(np.float32) / 255
    assert np.array_equal(transfer(rgbaf, ref, method)[..., 3], rgbaf[..., 3])


def test_a_0_255_photo_held_as_floats_is_refused(pair):
    src, ref = pair
    with pytest.raises(ValueError, match="source: float images are 0-1, this one reaches 255"):
        transfer(src.astype(np.float32), ref, "mkl")  # it came back clipped, nearly white
    with pytest.raises(ValueError, match="reference: float images are 0-1"):
        transfer(src, ref.astype(np.float64), "hm")


def test_transparent_pixels_do_not_count_in_reference(pair):
    src, ref = pair
    junk = np.zeros_like(ref)
    junk[..., 1] = 255  # bright green junk behind alpha 0
    both = np.concatenate([ref, junk], axis=1)
    alpha = np.concatenate([np.full(ref.shape[:2], 255, np.uint8), np.zeros(ref.shape[:2], np.uint8)], axis=1)
    assert np.array_equal(transfer(src, np.dstack([both, alpha]), "mkl"), transfer(src, ref, "mkl"))


def test_strength_blends_linearly(pair):
    src, ref = pair
    full = transfer(src.astype(np.float32) / 255, ref, "mkl")
    half = transfer(src.astype(np.float32) / 255, ref, "mkl", strength=0.5)
    expect = 0.5 * (src / 255) + 0.5 * full
    assert np.abs(half - expect).max() < 1e-5


def test_mask_restricts_and_weights(pair):
    src, ref = pair
    h, w, _ = src.shape
    mask = np.zeros((h, w), bool)
    mask[: h // 2] = True
    out = transfer(src, ref, "mkl", mask=mask)
    full = transfer(src, ref, "mkl")
    assert np.array_equal(out[~mask], src[~mask])  # untouched exactly where mask is 0
    assert np.abs(out[mask].astype(int) - full[mask]).max() <= 1
    soft = np.linspace(0, 1, w, dtype=np.float32)[None, :].repeat(h, 0)
    outf = transfer(src.astype(np.float32) / 255, ref, "mkl", mask=soft)
    fullf = transfer(src.astype(np.float32) / 255, ref, "mkl")
    expect = src / 255 + soft[..., None] * (fullf - src / 255)
    assert np.abs(outf - expect).max() < 1e-5
    assert np.array_equal(transfer(src, ref, "mkl", mask=np.zeros((h, w), bool)), src)


@pytest.mark.parametrize("method", ["mkl", "hm", "reinhard-lab", "idt"])
def test_preserve_luminance_keeps_lab_l(pair, method):
    src, ref = pair
    srcf = src.astype(np.float32) / 255
    out = transfer(srcf, ref, method, preserve_luminance=True)
    dl = np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(srcf)[..., 0])
    assert dl.max() < 2e-3  # Lab L units (0-100): float32 round-off only
    # colours still changed: the ab statistics moved to the reference's
    ab_ref = rgb_to_lab(ref.astype(np.float32) / 255)[..., 1:].reshape(-1, 2).mean(0)
    before = np.abs(rgb_to_lab(srcf)[..., 1:].reshape(-1, 2).mean(0) - ab_ref).sum()
    after = np.abs(rgb_to_lab(out)[..., 1:].reshape(-1, 2).mean(0) - ab_ref).sum()
    assert after < 0.6 * before
    # uint8 output: L kept up to the 8-bit quantisation of the result (< 0.5 L units)
    out8 = transfer(src, ref, method, preserve_luminance=True)
    dl8 = np.abs(rgb_to_lab(out8)[..., 0] - rgb_to_lab(src)[..., 0])
    assert dl8.max() < 0.6
    # with strength and a mask too
    half = transfer(srcf, ref, method, preserve_luminance=True, strength=0.5,
                    mask=np.ones(src.shape[:2], np.float32) * 0.7)
    assert np.abs(rgb_to_lab(half)[..., 0] - rgb_to_lab(srcf)[..., 0]).max() < 2e-3


@pytest.mark.parametrize("method", METHODS)
def test_palette_json_round_trip_gives_same_result(pair, method, tmp_path):
    src, ref = pair
    direct = transfer(src, ref, method, seed=3)
    pal = Palette.from_image(ref)
    via_palette = transfer(src, pal, method, seed=3)
    path = tmp_path / "coffee.palette.json"
    pal.save(path)
    via_json = transfer(src, Palette.load(path), method, seed=3)
    assert np.array_equal(direct, via_palette)
    assert np.array_equal(direct, via_json)


def test_palette_json_is_small_and_validated(pair):
    _, ref = pair
    text = Palette.from_image(ref).to_json()
    assert len(text) < 100_000  # 8-bit photo: 16384 8-bit samples + <= 3 x 256 CDF knots
    p16 = Palette.from_image(ref.astype(np.uint16) * 257)
    assert len(p16.to_json()) < 250_000
    with pytest.raises(ValueError, match="not a tinct palette"):
        Palette.from_json('{"format": "other"}')
    with pytest.raises(ValueError, match="JSON"):
        Palette.from_json("{nope")
    with pytest.raises(ValueError, match="malformed"):
        Palette.from_json('{"format": "tinct.palette", "version": 1}')


def test_palette_statistics_are_right(pair):
    _, ref = pair
    p = Palette.from_image(ref)
    x = ref.reshape(-1, 3) / 255
    np.testing.assert_allclose(p.mean, x.mean(0), atol=1e-9)
    np.testing.assert_allclose(p.cov, np.cov(x.T, bias=True), atol=1e-9)
    lab = rgb_to_lab(ref).reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(p.lab_mean, lab.mean(0), atol=1e-3)
    np.testing.assert_allclose(p.lab_std, lab.std(0), atol=1e-3)
    assert p.n_pixels == x.shape[0] and p.sample.shape == (16384, 3)
    # CDF knots: mid-rank probabilities of every 8-bit level, plus the two end points
    values, probs = p.cdf[0]
    assert values.size == np.unique(ref[..., 0]).size + 2 and probs[0] == 0 and probs[-1] == 1


def test_source_and_reference_sizes_may_differ(photos):
    src = photos["chelsea"]  # 300 x 451
    ref = photos["rocket"][:97, :203]
    for method in ("mkl", "hm", "sot"):
        assert transfer(src, ref, method).shape == src.shape


def test_regrain_option_keeps_colours_and_source_gradients(pair):
    src, ref = pair
    plain = transfer(src, ref, "idt")
    grained = transfer(src, ref, "idt", regrain=True)
    assert grained.shape == src.shape and grained.dtype == np.uint8
    # low frequencies (the colours) stay those of the transfer: 32 x 32 block means agree to
    # ~1.5 levels (measured 1.47) while the source is ~27 levels away from them
    h, w = (s // 32 * 32 for s in src.shape[:2])

    def blocks(a):
        return a[:h, :w].astype(float).reshape(h // 32, 32, w // 32, 32, 3).mean((1, 3))

    assert np.abs(blocks(grained) - blocks(plain)).mean() < 2.5
    assert np.abs(blocks(src) - blocks(plain)).mean() > 20

    # high frequencies are the source's: pixel differences follow the source's (measured
    # mean |d grained - d source| 3.4 levels against 14.5 for the plain transfer)
    def grad_err(a):
        a, s = a.astype(float), src.astype(float)
        return np.abs(np.diff(a, axis=1) - np.diff(s, axis=1)).mean() + np.abs(
            np.diff(a, axis=0) - np.diff(s, axis=0)).mean()

    assert grad_err(grained) < 0.4 * grad_err(plain)


def test_import_does_not_pull_torch():
    code = "import sys, tinct.match; print('torch' in sys.modules, 'scipy' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["False", "False"]


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("tinct.match", "tinct.match.palette", "tinct.match.regrain", "tinct.match.reinhard"):
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, name
