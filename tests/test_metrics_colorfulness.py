"""tinct.metrics.colorfulness: Hasler & Süsstrunk (2003), both variants, hand-computed."""

import numpy as np
import pytest

from tinct.metrics import colorfulness, delta_colorfulness


def _two_colour(c1, c2, shape=(4, 6)):
    """Left half c1, right half c2 (same pixel count each)."""
    img = np.empty((*shape, 3), np.uint8)
    img[:, : shape[1] // 2] = c1
    img[:, shape[1] // 2 :] = c2
    return img


RED_BLUE = _two_colour((255, 0, 0), (0, 0, 255))


def test_smoke():
    value = colorfulness(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    assert isinstance(value, float)
    assert value > 0


def test_red_blue_paper_by_hand():
    # red:  rg = 255, yb = 127.5;  blue: rg = 0, yb = -255   (half the pixels each)
    # mean_rg = 127.5, sd_rg = 127.5;  mean_yb = -63.75, sd_yb = 191.25
    # CF = sqrt(127.5^2 + 191.25^2) + 0.3 sqrt(127.5^2 + 63.75^2)
    #    = 127.5 (sqrt(13)/2 + 0.3 sqrt(5)/2) = 229.8539 + 42.7648 = 272.6187
    expected = 127.5 * (np.sqrt(13) / 2 + 0.3 * np.sqrt(5) / 2)
    assert colorfulness(RED_BLUE) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(272.6187, abs=1e-4)


def test_red_blue_absolute_by_hand():
    # |rg| = 255, 0 -> mean 127.5, sd 127.5;  |yb| = 127.5, 255 -> mean 191.25, sd 63.75
    # CF = sqrt(127.5^2 + 63.75^2) + 0.3 sqrt(127.5^2 + 191.25^2)
    #    = 127.5 (sqrt(5)/2 + 0.3 sqrt(13)/2) = 142.5493 + 68.9562 = 211.5055
    expected = 127.5 * (np.sqrt(5) / 2 + 0.3 * np.sqrt(13) / 2)
    assert colorfulness(RED_BLUE, variant="absolute") == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(211.5055, abs=1e-4)


def test_red_green_shows_where_the_variants_differ():
    # red: rg = 255, yb = 127.5; green: rg = -255, yb = 127.5
    # paper:    sd_rg = 255, mean_rg = 0, sd_yb = 0, mean_yb = 127.5 -> 255 + 0.3 * 127.5 = 293.25
    # absolute: |rg| = 255 everywhere -> sd 0, mean 255  -> 0 + 0.3 sqrt(255^2 + 127.5^2) = 85.5296
    img = _two_colour((255, 0, 0), (0, 255, 0))
    assert colorfulness(img) == pytest.approx(293.25, abs=1e-9)
    assert colorfulness(img, variant="absolute") == pytest.approx(0.3 * np.hypot(255, 127.5), abs=1e-9)


def test_uniform_colour_has_only_the_mean_term():
    red = np.zeros((3, 3, 3), np.uint8)
    red[..., 0] = 255
    for variant in ("paper", "absolute"):
        assert colorfulness(red, variant=variant) == pytest.approx(0.3 * 127.5 * np.sqrt(5), abs=1e-9)


@pytest.mark.parametrize("variant", ["paper", "absolute"])
def test_gray_is_zero(variant):
    rng = np.random.default_rng(1)
    gray = np.repeat(rng.integers(0, 256, (10, 12, 1), dtype=np.uint8), 3, axis=2)
    assert colorfulness(gray, variant=variant) == 0.0
    assert colorfulness(gray / 255.0, variant=variant) == pytest.approx(0.0, abs=1e-12)


def test_dtypes_agree():
    expected = colorfulness(RED_BLUE)
    assert colorfulness(RED_BLUE / 255.0) == pytest.approx(expected, abs=1e-9)
    assert colorfulness(RED_BLUE.astype(np.uint16) * 257) == pytest.approx(expected, abs=1e-9)


def test_properties():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    # Invariant to pixel order; desaturating towards gray lowers CF.
    shuffled = rng.permutation(img.reshape(-1, 3)).reshape(img.shape)
    assert colorfulness(shuffled) == pytest.approx(colorfulness(img), abs=1e-9)
    gray = img.mean(axis=2, keepdims=True)
    values = [colorfulness((img * (1 - s) + gray * s) / 255.0) for s in (0, 0.3, 0.6, 0.9)]
    assert values == sorted(values, reverse=True)
    # Paper CF is linear in a chroma scale around gray: halving chroma halves CF.
    half = (gray + 0.5 * (img - gray)) / 255.0
    assert colorfulness(half) == pytest.approx(0.5 * colorfulness(img), rel=1e-9)


def test_delta_colorfulness():
    gray = np.full((4, 6, 3), 90, np.uint8)
    cf = colorfulness(RED_BLUE)
    # |mean(0, 0) - mean(cf, 0)| = cf / 2; the sets need not be the same size.
    assert delta_colorfulness([gray, gray], [RED_BLUE, gray]) == pytest.approx(cf / 2, abs=1e-9)
    assert delta_colorfulness([gray], [RED_BLUE, gray, gray, gray]) == pytest.approx(cf / 4, abs=1e-9)
    assert delta_colorfulness(np.stack([RED_BLUE, gray]), np.stack([gray, RED_BLUE])) == 0.0
    assert delta_colorfulness(RED_BLUE, gray, variant="absolute") == pytest.approx(
        colorfulness(RED_BLUE, variant="absolute"), abs=1e-9
    )


def test_errors():
    with pytest.raises(ValueError, match="variant must be one of"):
        colorfulness(RED_BLUE, variant="ddcolor")
    with pytest.raises(ValueError, match="variant must be one of"):
        delta_colorfulness([RED_BLUE], [RED_BLUE], variant="x")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        colorfulness(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="at least one image"):
        delta_colorfulness([], [RED_BLUE])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        colorfulness(RED_BLUE.astype(np.float64))
