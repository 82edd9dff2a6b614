"""tinct.color.lab: smoke, shapes, dtypes, errors, values vs scikit-image, round trip, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinct.color.lab import gamut_mask, lab_to_rgb, rgb_to_gray_l, rgb_to_lab

skcolor = pytest.importorskip("skimage.color")
skdata = pytest.importorskip("skimage.data")

RNG = np.random.default_rng(0)
PROPS = settings(max_examples=30, deadline=None)


def photos() -> list[np.ndarray]:
    """Real photographs shipped with scikit-image (no download), cropped to keep tests fast."""
    return [skdata.astronaut()[::4, ::4], skdata.chelsea()[::3, ::3], skdata.coffee()[::3, ::3]]


def reference_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab from the published formulas with exact constants, float64 (independent of tinct)."""
    c = rgb.astype(np.float64)
    lin = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = (6 / 29) ** 3, (29 / 3) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


# ----------------------------------------------------------------------------- smoke, shapes, dtypes


def test_smoke():
    rgb = RNG.random((4, 5, 3))
    lab = rgb_to_lab(rgb)
    assert lab.shape == (4, 5, 3) and lab.dtype == np.float32
    back = lab_to_rgb(lab)
    assert back.shape == (4, 5, 3) and back.dtype == np.float32
    assert rgb_to_gray_l(rgb).shape == (4, 5)
    assert gamut_mask(lab).all()


@pytest.mark.parametrize("shape", [(3,), (7, 3), (2, 3, 4, 3), (0, 3), (1, 1, 1, 1, 3)])
def test_any_leading_dims(shape):
    rgb = RNG.random(shape)
    lab = rgb_to_lab(rgb)
    assert lab.shape == shape
    assert lab_to_rgb(lab).shape == shape
    assert rgb_to_gray_l(rgb).shape == shape[:-1]
    assert gamut_mask(lab).shape == shape[:-1]
    flat = rgb_to_lab(rgb.reshape(-1, 3)).reshape(shape)
    np.testing.assert_array_equal(lab, flat)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_input_is_scaled_by_its_maximum(dtype):
    x = RNG.integers(0, np.iinfo(dtype).max + 1, (6, 6, 3), dtype=dtype)
    as_float = x.astype(np.float64) / np.iinfo(dtype).max
    np.testing.assert_allclose(rgb_to_lab(x), rgb_to_lab(as_float), atol=1e-4)
    np.testing.assert_allclose(rgb_to_gray_l(x), rgb_to_gray_l(as_float), atol=1e-4)


def test_computation_dtype():
    rgb = RNG.random((3, 3))
    assert rgb_to_lab(rgb).dtype == np.float32
    assert rgb_to_lab(rgb, dtype=np.float64).dtype == np.float64
    assert rgb_to_lab(rgb.astype(np.float32), dtype=np.float64).dtype == np.float64
    lab = rgb_to_lab(rgb, dtype=np.float64)
    assert lab_to_rgb(lab).dtype == np.float32
    assert lab_to_rgb(lab, dtype=np.float64).dtype == np.float64


def test_input_is_not_modified():
    rgb = RNG.random((5, 3))
    copy = rgb.copy()
    lab = rgb_to_lab(rgb)
    lab_copy = lab.copy()
    lab_to_rgb(lab, clip=False)
    np.testing.assert_array_equal(rgb, copy)
    np.testing.assert_array_equal(lab, lab_copy)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("shape", [(4,), (5, 2), (3, 3, 4), (3, 3, 1)])
@pytest.mark.parametrize("fn", [rgb_to_lab, lab_to_rgb, rgb_to_gray_l, gamut_mask])
def test_wrong_channel_count(fn, shape):
    with pytest.raises(ValueError, match=r"3 channels.*got shape"):
        fn(np.zeros(shape))


def test_scalar_is_refused():
    with pytest.raises(ValueError):
        rgb_to_lab(np.float32(0.5))


# ----------------------------------------------------------------------------- values


KNOWN = {  # sRGB -> Lab (D65), as published (e.g. Lindbloom's calculator, scikit-image)
    "white": ([1, 1, 1], [100.0, 0.0, 0.0]),
    "black": ([0, 0, 0], [0.0, 0.0, 0.0]),
    "red": ([1, 0, 0], [53.24, 80.09, 67.20]),
    "green": ([0, 1, 0], [87.73, -86.18, 83.18]),
    "blue": ([0, 0, 1], [32.30, 79.19, -107.86]),
    "mid grey": ([0.5, 0.5, 0.5], [53.39, 0.0, 0.0]),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_known_values(name):
    rgb, lab = KNOWN[name]
    np.testing.assert_allclose(rgb_to_lab(np.array(rgb, np.float64)), lab, atol=0.01)
    np.testing.assert_allclose(lab_to_rgb(np.array(lab)), rgb, atol=2e-3)  # published Lab has 2 decimals


def test_black_is_exactly_zero():
    np.testing.assert_array_equal(rgb_to_lab(np.zeros(3)), np.zeros(3))


@pytest.mark.parametrize("source", ["random", "photos", "dark"])
def test_rgb_to_lab_matches_reference_and_skimage(source):
    images = {
        "random": [RNG.random((32, 32, 3))],
        "photos": photos(),
        "dark": [RNG.random((32, 32, 3)) * 0.08],  # the linear segment of the Lab curve
    }[source]
    for image in images:
        ours = rgb_to_lab(image)
        # Exact CIE constants: float32 arithmetic stays within 1e-4.
        f = image / 255.0 if image.dtype == np.uint8 else image
        np.testing.assert_allclose(ours, reference_lab(f), rtol=0, atol=1e-4)
        # scikit-image rounds the linear-segment constants (0.008856, 7.787): within 2e-4.
        np.testing.assert_allclose(ours, skcolor.rgb2lab(image), rtol=0, atol=2e-4)
        np.testing.assert_allclose(rgb_to_lab(image, dtype=np.float64), skcolor.rgb2lab(image), rtol=0, atol=2e-4)


@pytest.mark.parametrize("source", ["random", "photos"])
def test_lab_to_rgb_matches_skimage(source):
    images = [RNG.random((32, 32, 3))] if source == "random" else photos()
    for image in images:
        lab = skcolor.rgb2lab(image)
        np.testing.assert_allclose(lab_to_rgb(lab), skcolor.lab2rgb(lab), rtol=0, atol=1e-4)
    # Out of gamut (but with Z >= 0, where scikit-image does not patch values): both clip the same.
    lab = np.stack([RNG.uniform(5, 95, 500), RNG.uniform(-100, 100, 500), RNG.uniform(-100, 40, 500)], -1)
    np.testing.assert_allclose(lab_to_rgb(lab), skcolor.lab2rgb(lab), rtol=0, atol=1e-4)


def test_round_trip():
    for image in [RNG.random((64, 64, 3)), *photos()]:
        f = image / 255.0 if image.dtype == np.uint8 else image
        np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(image)), f, rtol=0, atol=1e-4)
        np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(image, dtype=np.float64), dtype=np.float64), f, atol=1e-10)


def test_gray_l_is_lab_lightness():
    image = photos()[0]
    np.testing.assert_allclose(rgb_to_gray_l(image), rgb_to_lab(image)[..., 0], atol=1e-4)
    grey = np.repeat(RNG.random((50, 1)), 3, axis=1)
    np.testing.assert_allclose(rgb_to_lab(grey)[:, 1:], 0, atol=0.01)  # neutral stays neutral


def test_gamut_mask():
    lab = rgb_to_lab(RNG.random((100, 3)), dtype=np.float64)
    assert gamut_mask(lab).all()
    outside = np.array([[50, 120, 0], [50, 0, -130], [101, 0, 0], [-1, 0, 0], [95, -80, 0]], np.float64)
    assert not gamut_mask(outside).any()
    rgb = lab_to_rgb(outside[:2], clip=False)
    assert ((rgb < 0) | (rgb > 1)).any(axis=-1).all()
    assert ((lab_to_rgb(outside) >= 0) & (lab_to_rgb(outside) <= 1)).all()


# ----------------------------------------------------------------------------- properties

unit_rgb = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).map(lambda s: (*s, 3)),
    elements=st.floats(0, 1),
)


@PROPS
@given(unit_rgb)
def test_property_round_trip_and_finite(rgb):
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape and np.isfinite(lab).all()
    assert (lab[..., 0] >= -1e-4).all() and (lab[..., 0] <= 100 + 1e-3).all()
    np.testing.assert_allclose(lab_to_rgb(lab), rgb, atol=1e-4)


@PROPS
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 4), st.just(3))))
def test_property_uint8_matches_float(rgb):
    np.testing.assert_allclose(rgb_to_lab(rgb), rgb_to_lab(rgb / 255.0), atol=1e-4)


@PROPS
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=5).map(lambda s: (*s, 3)),
        elements=st.floats(-150, 150),
    )
)
def test_property_any_lab_decodes_to_valid_rgb(lab):
    lab = lab.copy()
    lab[..., 0] = np.abs(lab[..., 0]) % 100
    rgb = lab_to_rgb(lab)
    assert rgb.shape == lab.shape and np.isfinite(rgb).all()
    assert (rgb >= 0).all() and (rgb <= 1).all()


def test_looks_gray_on_photos_and_dtypes(photos):
    from tinct.color.lab import looks_gray

    gray = np.repeat(photos["camera"][..., None], 3, axis=-1)
    assert looks_gray(gray) and looks_gray(gray.astype(np.uint16) * 257) and looks_gray(gray / 255.0)
    assert not looks_gray(photos["astronaut"]) and not looks_gray(photos["coffee"] / 255.0)
    noisy = np.clip(gray.astype(int) + np.random.default_rng(0).integers(-1, 2, gray.shape), 0, 255)
    assert looks_gray(noisy.astype(np.uint8))  # JPEG-like noise is still gray
