"""tinct.metrics.psnr: PSNR on RGB 0-255."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from tinct.metrics import psnr


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    noisy = np.clip(ref + rng.normal(0, 10, ref.shape), 0, 255).astype(np.uint8)
    return noisy, ref


def test_smoke_returns_python_float(pair):
    value = psnr(*pair)
    assert isinstance(value, float)
    assert 20 < value < 40


def test_matches_skimage(pair):
    noisy, ref = pair
    expected = peak_signal_noise_ratio(ref, noisy, data_range=255)
    assert psnr(noisy, ref) == pytest.approx(expected, abs=1e-10)


def test_hand_computed_values():
    zero = np.zeros((4, 5, 3), np.uint8)
    # MSE = 1 everywhere: 10 log10(255^2) = 48.1308 dB.
    assert psnr(zero + 1, zero) == pytest.approx(20 * np.log10(255), abs=1e-12)
    # Black against white: MSE = 255^2, PSNR = 0 dB.
    assert psnr(zero, zero + 255) == pytest.approx(0.0, abs=1e-12)
    # Error 2 in one channel only: MSE = 4/3.
    one = zero.copy()
    one[..., 1] = 2
    assert psnr(one, zero) == pytest.approx(10 * np.log10(255**2 * 3 / 4), abs=1e-12)


def test_identical_images_give_inf():
    a = np.random.default_rng(1).random((8, 8, 3))
    assert psnr(a, a) == float("inf")


def test_dtypes_agree_on_the_255_scale(pair):
    noisy, ref = pair
    expected = psnr(noisy, ref)
    assert psnr(noisy / 255.0, ref / 255.0) == pytest.approx(expected, abs=1e-9)
    assert psnr(noisy.astype(np.float32) / 255, ref.astype(np.float32) / 255) == pytest.approx(expected, abs=1e-4)
    assert psnr(noisy.astype(np.uint16) * 257, ref.astype(np.uint16) * 257) == pytest.approx(expected, abs=1e-9)


def test_data_range_shifts_by_20_log10():
    zero = np.zeros((4, 4, 3), np.uint8)
    assert psnr(zero + 3, zero, data_range=1.0) == pytest.approx(20 * np.log10(1 / 3), abs=1e-12)


def test_symmetric_and_decreasing_with_noise(pair):
    noisy, ref = pair
    assert psnr(noisy, ref) == psnr(ref, noisy)
    rng = np.random.default_rng(2)
    values = [psnr(np.clip(ref + rng.normal(0, s, ref.shape), 0, 255).astype(np.uint8), ref) for s in (2, 5, 20, 60)]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(
    ("image", "reference", "match"),
    [
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8), "same shape"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), r"got \(4, 4, 4\)"),
        (np.zeros((4, 4, 3), np.int64), np.zeros((4, 4, 3), np.int64), "dtype int64"),
        (np.full((4, 4, 3), 200.0), np.zeros((4, 4, 3)), r"\[0, 1\]"),
        (np.full((4, 4, 3), np.nan), np.zeros((4, 4, 3)), "finite"),
    ],
)
def test_errors(image, reference, match):
    with pytest.raises(ValueError, match=match):
        psnr(image, reference)


def test_bad_data_range():
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="data_range"):
        psnr(a, a, data_range=0)
