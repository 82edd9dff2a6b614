"""tinct.metrics.ssim: Gaussian-window SSIM on RGB, checked against scikit-image."""

import numpy as np
import pytest
import skimage.data
from skimage.metrics import structural_similarity

from tinct.metrics import ssim


def _skimage_ssim(image, reference):
    return structural_similarity(
        reference.astype(np.float64),
        image.astype(np.float64),
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )


@pytest.fixture(scope="module")
def photo():
    return skimage.data.astronaut()[100:196, 150:230]  # 96 x 80, face and background


def test_smoke(photo):
    value = ssim(photo, photo[::-1])
    assert isinstance(value, float)
    assert -1 <= value <= 1


@pytest.mark.parametrize("sigma_noise", [3, 15, 50])
def test_matches_skimage_on_noisy_photo(photo, sigma_noise):
    rng = np.random.default_rng(sigma_noise)
    noisy = np.clip(photo + rng.normal(0, sigma_noise, photo.shape), 0, 255).astype(np.uint8)
    assert ssim(noisy, photo) == pytest.approx(_skimage_ssim(noisy, photo), abs=1e-4)


def test_matches_skimage_on_desaturated_photo(photo):
    # A colorization-like error: chroma lost, structure kept.
    gray = photo.mean(axis=2, keepdims=True)
    washed = (0.5 * photo + 0.5 * gray).astype(np.uint8)
    assert ssim(washed, photo) == pytest.approx(_skimage_ssim(washed, photo), abs=1e-4)


def test_matches_skimage_at_minimum_size():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (11, 13, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (11, 13, 3), dtype=np.uint8)
    assert ssim(a, b) == pytest.approx(_skimage_ssim(a, b), abs=1e-4)


def test_identical_is_one_and_symmetric(photo):
    assert ssim(photo, photo) == 1.0
    other = np.roll(photo, 3, axis=1)
    assert ssim(photo, other) == pytest.approx(ssim(other, photo), abs=1e-12)


def test_dtypes_agree(photo):
    other = np.clip(photo.astype(int) + 20, 0, 255).astype(np.uint8)
    expected = ssim(other, photo)
    assert ssim(other / 255.0, photo / 255.0) == pytest.approx(expected, abs=1e-9)
    assert ssim(other.astype(np.uint16) * 257, photo.astype(np.uint16) * 257) == pytest.approx(expected, abs=1e-9)


def test_decreases_with_noise(photo):
    rng = np.random.default_rng(4)
    values = [ssim(np.clip(photo + rng.normal(0, s, photo.shape), 0, 255).astype(np.uint8), photo) for s in (2, 10, 40)]
    assert values == sorted(values, reverse=True)


def test_errors():
    with pytest.raises(ValueError, match=r"at least 11 x 11 pixels, got \(10, 20, 3\)"):
        ssim(np.zeros((10, 20, 3), np.uint8), np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="same shape"):
        ssim(np.zeros((20, 20, 3), np.uint8), np.zeros((20, 21, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        ssim(np.zeros((20, 20), np.uint8), np.zeros((20, 20), np.uint8))
