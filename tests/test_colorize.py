"""Automatic colorization end to end with the shipped network."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import tinct  # noqa: E402
from tinct.color.gamut import ab_bins, annealed_mean  # noqa: E402
from tinct.color.lab import rgb_to_lab  # noqa: E402
from tinct.color.upsample import guided_upsample, resize_plane  # noqa: E402
from tinct.colorizer import (  # noqa: E402
    DEFAULT_BALANCE,
    PRIOR_EPS,
    balance_shift,
    onnx_available,
    predict_logits,
    stretch_levels,
    working_shape,
)
from tinct.demo import _gray  # noqa: E402


def _lab(img: np.ndarray) -> np.ndarray:
    return rgb_to_lab(np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3])


def test_camera_output_keeps_size_dtype_and_luminance(photos):
    gray = photos["camera"]
    out = tinct.colorize(gray)
    assert out.shape == gray.shape + (3,) and out.dtype == np.uint8
    assert np.abs(_lab(out)[..., 0] - _lab(gray)[..., 0]).mean() <= 1.0


def test_result_has_colour_where_the_world_does(photos):
    """Sky above the cameraman is blue, the lawn below him green."""
    lab = _lab(tinct.colorize(photos["camera"]))
    sky, lawn = lab[20:120, 10:90], lab[440:500, 330:500]
    assert sky[..., 2].mean() < -4, "sky should be blue (b* < 0)"
    a, b = lawn[..., 1].mean(), lawn[..., 2].mean()
    hue = np.degrees(np.arctan2(b, a))
    assert np.hypot(a, b) > 10 and 88 < hue < 160, f"grass should be yellow-green to green, got hue {hue:.0f}"


def test_deterministic(photos):
    gray = _gray(photos["astronaut"])
    assert np.array_equal(tinct.colorize(gray), tinct.colorize(gray))


def test_uint16_float_and_alpha(photos):
    gray8 = _gray(photos["chelsea"])
    g16 = gray8.astype(np.uint16) * 257
    alpha = np.linspace(0, 65535, g16.size).reshape(g16.shape).astype(np.uint16)
    out16 = tinct.colorize(np.dstack([g16, g16, g16, alpha]))
    assert out16.dtype == np.uint16 and out16.shape == g16.shape + (4,)
    assert np.array_equal(out16[..., 3], alpha)
    outf = tinct.colorize(gray8.astype(np.float64) / 255)
    assert outf.dtype == np.float32 and 0 <= outf.min() and outf.max() <= 1
    out8 = tinct.colorize(gray8)
    # the same photo at three bit depths gives the same colours (to 8-bit rounding)
    assert np.abs(out16[..., :3] / 257.0 - out8).mean() < 1.0
    assert np.abs(outf * 255 - out8).mean() < 1.0


def test_colour_input_warns_and_uses_luminance(photos):
    rgb = photos["coffee"]
    with pytest.warns(UserWarning, match="already has colour"):
        out = tinct.colorize(rgb)
    assert np.abs(_lab(out)[..., 0] - _lab(rgb)[..., 0]).mean() <= 1.0


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 5)), np.zeros((0, 3)), np.zeros(7),
                                 np.full((8, 8), np.nan)])
def test_bad_arrays_raise(bad):
    with pytest.raises(ValueError):
        tinct.colorize(bad)


@pytest.mark.parametrize("bad, says", [
    (np.full((8, 8), 7, np.int64), "dtype must be uint8, uint16 or float"),  # came back as int64 garbage
    ([[0, 1], [2, 3]], "dtype must be uint8, uint16 or float"),               # a list is int64 too
    (np.full((8, 8), 7, np.uint32), "dtype must be uint8, uint16 or float"),
    (np.full((8, 8), 120.0), "image: float images are 0-1, this one reaches 120"),  # came back white
])
def test_inputs_that_would_give_garbage_are_refused(bad, says):
    with pytest.raises(ValueError, match=says):
        tinct.colorize(bad)
    with pytest.raises(ValueError, match=says):
        tinct.suggest_colors(bad, 0, 0)


def test_saturation_zero_is_gray_and_temperature_validated(photos):
    gray = photos["camera"][:128, :128]
    out = tinct.colorize(gray, saturation=0.0)
    assert np.abs(_lab(out)[..., 1:]).max() < 1.0
    with pytest.raises(ValueError, match="temperature"):
        tinct.colorize(gray, temperature=0)
    # NaN came back as a black photo; above 2 the Python API now agrees with the CLI and the web API
    for t in (float("nan"), 5.0, float("inf")):
        with pytest.raises(ValueError, match=r"temperature must be in \(0, 2\]"):
            tinct.colorize(gray, temperature=t)
    for k in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="saturation must be a finite number >= 0"):
            tinct.colorize(gray, saturation=k)
    assert np.abs(tinct.colorize(np.full((8, 8), 1.2)) - 1).max() < 2e-3  # slight overshoot: clipped to white


def test_balance_divides_out_a_share_of_the_training_prior(photos):
    """Logit adjustment (Menon et al. 2021): logits - balance * log(prior), on either backend."""
    from tinct.color.gamut import smooth_prior
    from tinct.models._weights import colour_prior

    counts = colour_prior("default")
    assert counts is not None and counts.shape == (len(ab_bins()),)  # the shipped file carries its prior
    shift = balance_shift("default", 0.2)
    assert np.allclose(shift, -0.2 * np.log(smooth_prior(counts) + PRIOR_EPS), rtol=1e-6)
    # the rarest bins gain most: the shift falls as the prior rises
    prior = smooth_prior(counts)
    assert shift[np.argmin(prior)] > shift[np.argmax(prior)] + 0.2 * 5
    assert balance_shift("default", 0.0) is None
    light = _lab(photos["camera"][::4, ::4])[..., 0].astype(np.float32)
    raw = predict_logits(light, size=64, balance=0.0)
    for backend in ("torch", "onnx") if onnx_available() else ("torch",):
        got = predict_logits(light, size=64, balance=DEFAULT_BALANCE, backend=backend)
        assert np.allclose(got, raw + balance_shift("default")[:, None, None], atol=1e-3)


def test_more_balance_is_more_colourful_and_is_validated(photos):
    gray = _gray(photos["astronaut"])[::2, ::2]
    chroma = [np.hypot(*np.moveaxis(_lab(tinct.colorize(gray, balance=b))[..., 1:], -1, 0)).mean()
              for b in (0.0, DEFAULT_BALANCE, 0.3)]
    assert chroma[0] < chroma[1] < chroma[2], chroma
    assert chroma[2] > chroma[0] + 2
    for b in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"balance must be in \[0, 1\]"):
            tinct.colorize(gray, balance=b)


def test_a_weight_file_without_a_prior_ignores_balance_and_says_so(photos, tmp_path):
    from tinct.interpret import explain
    from tinct.models._weights import load_model, save_weights

    path = str(save_weights(load_model("default"), tmp_path, extra={}))  # the shipped network, no prior
    gray = photos["camera"][::4, ::4]
    with pytest.warns(UserWarning, match="carries no colour prior, so balance has no effect"):
        bold = tinct.colorize(gray, model=path, balance=0.3)
    assert np.array_equal(bold, tinct.colorize(gray, model=path, balance=0.0))
    assert explain(gray, model=path, with_saliency=False).balance == 0.0  # what was applied
    assert explain(gray, with_saliency=False).balance == DEFAULT_BALANCE


def test_working_shape_is_stride_exact():
    assert working_shape(512, 512, 256) == (256, 256)
    h, w = working_shape(3000, 4000, 256)
    assert h % 32 == 0 and w % 32 == 0 and abs(w / h - 4 / 3) < 0.1
    # extreme strips: the long side is capped (4 x size), the short side never below one stride block
    assert working_shape(1000, 8000, 192) == (192, 1536)  # an 8:1 panorama is not squeezed
    # small photos are not enlarged (rounded to the stride); extreme strips are capped
    assert working_shape(128, 128, 192) == (128, 128)
    assert working_shape(100, 150, 192) == (96, 160)
    assert working_shape(10, 10000, 256) == (32, 512)
    assert working_shape(10000, 1, 192) == (512, 32)


def test_stretch_levels_maps_the_percentiles_to_the_training_levels():
    light = np.linspace(20, 60, 10_000, dtype=np.float32).reshape(100, 100)
    out = stretch_levels(light)
    assert out.dtype == np.float32
    lo, hi = np.percentile(out, [0.5, 99.5])
    assert lo == pytest.approx(3, abs=1e-3) and hi == pytest.approx(95, abs=1e-3)
    assert np.all(np.diff(out.ravel()) >= 0) and out.min() >= 0 and out.max() <= 100  # order kept, clipped
    flat = np.full((8, 8), 42.0, np.float32)
    assert stretch_levels(flat) is flat  # nothing to stretch: left alone
    fog = 50 + np.random.default_rng(0).normal(0, 1, (64, 64)).astype(np.float32)  # noise, no picture
    assert np.std(stretch_levels(fog)) == pytest.approx(3 * np.std(fog), rel=1e-4)  # gain capped at 3
    assert np.mean(stretch_levels(fog)) == pytest.approx(49 + 3 * (np.mean(fog) - 50), abs=0.2)


def test_levels_give_a_faded_scan_the_colours_of_the_original(photos):
    # with levels the network sees stretch_levels(L), so any fade a + b L gives the same logits
    light = rgb_to_lab(photos["astronaut"])[..., 0].astype(np.float32)
    original = predict_logits(light, levels=True)
    for faded in (15 + 0.7 * light, 40 + 0.4 * light):
        faded = faded.astype(np.float32)
        assert np.abs(predict_logits(faded, levels=True) - original).max() < 1e-3
        assert np.abs(predict_logits(faded) - original).max() > 0.5  # without: the fade changes them
    # the result keeps the photo's own (faded) lightness either way
    gray = (np.clip(0.15 + 0.7 * photos["camera"] / 255.0, 0, 1) * 255).astype(np.uint8)
    out = tinct.colorize(gray, levels=True)
    assert np.abs(_lab(out)[..., 0] - rgb_to_lab(np.stack([gray] * 3, -1))[..., 0]).mean() <= 1


def test_annealed_mean_decodes_a_one_hot_bin_to_its_centre():
    bins = ab_bins()
    logits = np.full((3, 4, len(bins)), -50.0, np.float32)
    logits[..., 17] = 50.0
    assert np.allclose(annealed_mean(logits, temperature=0.38), bins[17], atol=1e-3)


def test_guided_upsampling_keeps_colour_on_its_side_of_an_edge():
    """A red dark half and a neutral bright half, split by a strong L edge at x = 32."""
    h, w, s = 64, 64, 8
    light = np.where(np.arange(w)[None, :] < 32, 30.0, 80.0).repeat(h, 0).astype(np.float32)
    light_lo = resize_plane(light, (h // s, w // s), resample="box")
    ab_lo = np.zeros((h // s, w // s, 2), np.float32)
    ab_lo[:, : 32 // s, 0] = 60.0  # a* = 60 on the dark side, 0 on the bright side
    guided = guided_upsample(ab_lo, light_lo, light, radius=1, eps=4.0)[..., 0]
    bilinear = resize_plane(ab_lo[..., 0], (h, w))
    across, before = slice(32, 36), slice(28, 32)
    assert bilinear[:, across].mean() > 10  # bilinear bleeds red onto the bright side
    assert np.abs(guided[:, across]).mean() < 0.4 * bilinear[:, across].mean()  # measured: 0.34
    assert guided[:, before].mean() > bilinear[:, before].mean() + 5  # and keeps it where it belongs (+9.9)


def test_blocks_of_rows_leave_no_seams(photos, monkeypatch):
    """The result is computed in blocks of rows; any block height gives the same pixels."""
    import tinct.colorizer as c

    gray = photos["camera"]
    whole = tinct.colorize(gray)
    monkeypatch.setattr(c, "ROWS", 7)
    assert np.array_equal(tinct.colorize(gray), whole)


def test_row_wise_coefficients_match_a_full_bilinear_resize():
    from tinct.color.upsample import GuidedRows

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(9, 13, 2)).astype(np.float32), rng.normal(size=(9, 13, 2)).astype(np.float32)
    light = rng.uniform(0, 100, (70, 101)).astype(np.float32)
    got = GuidedRows(a, b, light.shape).ab(light, 0)
    for ch in range(2):
        want = resize_plane(a[..., ch], light.shape) * light + resize_plane(b[..., ch], light.shape)
        assert np.abs(got[..., ch] - want).max() < 1e-3
