"""tinct.metrics: public names, no torch at import time, shared input validation."""

import subprocess
import sys

import numpy as np
import pytest

import tinct.metrics as metrics


def test_all_names_exist_and_are_public():
    assert len(metrics.__all__) == len(set(metrics.__all__))
    for name in metrics.__all__:
        assert not name.startswith("_")
        assert getattr(metrics, name) is not None


def test_import_does_not_load_torch():
    code = "import sys, tinct.metrics; sys.exit('torch' in sys.modules or 'skimage' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((4, 4, 3), np.int32), "dtype int32"),
        (np.zeros((4, 4, 3), bool), "dtype bool"),
        (np.full((4, 4, 3), 2.0), r"got values in \[2, 2\]"),
        (np.full((4, 4, 3), -0.5), r"\[0, 1\]"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 3, 1), np.uint8), r"got \(4, 4, 3, 1\)"),
    ],
)
def test_invalid_images_are_rejected_by_every_metric(image, match):
    good = np.zeros((4, 4, 3), np.uint8)
    for call in (
        lambda x: metrics.psnr(x, good),
        lambda x: metrics.mean_ciede2000(x, good),
        lambda x: metrics.colorfulness(x),
        lambda x: metrics.ab_error_curve(x, good),
    ):
        with pytest.raises(ValueError, match=match):
            call(image)


def test_float_rounding_overshoot_is_tolerated():
    a = np.full((4, 4, 3), 1.0 + 1e-6)
    assert metrics.psnr(a, np.ones((4, 4, 3))) == float("inf")
