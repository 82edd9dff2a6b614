"""tinct.metrics.auc: Zhang'16 AuC of the cumulative ab-error curve, plain and rebalanced."""

import numpy as np
import pytest

from tinct.color.gamut import ab_bins, nearest_bin
from tinct.color.lab import lab_to_rgb, rgb_to_lab
from tinct.metrics import (
    THRESHOLDS,
    ab_error_curve,
    auc,
    auc_from_curves,
    count_ab_bins,
    inverse_frequency_weights,
)

# A chroma whose ab distance from gray, 30.5, sits between two integer thresholds.
AB = (18.3, 24.4)


def _image(colored_rows, rows=4, cols=4, L=50.0):
    """Float RGB from Lab: the first ``colored_rows`` rows have ab = AB, the rest are gray."""
    lab = np.zeros((rows, cols, 3))
    lab[..., 0] = L
    lab[:colored_rows, :, 1:] = AB
    return lab_to_rgb(lab, dtype=np.float64)


def _gray_prediction(true):
    """All-gray prediction at L = 50, bit-identical to the gray pixels of ``_image``."""
    return _image(0, rows=true.shape[0], cols=true.shape[1])


def test_smoke_and_shapes():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    curve, total = ab_error_curve(a, b)
    assert curve.shape == (151,) and curve.dtype == np.float64
    assert total == 42.0
    assert np.all(np.diff(curve) >= 0) and curve[-1] <= total
    assert 0 <= auc(a, b) <= 100
    assert THRESHOLDS[0] == 0 and THRESHOLDS[-1] == 150 and len(THRESHOLDS) == 151


def test_identical_is_100():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert auc(a, a) == 100.0
    assert auc(a, a, rebalanced=True) == 100.0


def test_assumed_round_trip_of_the_fixture():
    true = _image(2)
    ab = rgb_to_lab(true, dtype=np.float64)[..., 1:]
    np.testing.assert_allclose(np.linalg.norm(ab[:2], axis=-1), 30.5, atol=1e-6)
    np.testing.assert_allclose(ab[2:], 0, atol=1e-6)
    # Gray pixels of the prediction equal those of the truth exactly: error 0 counts at t = 0.
    np.testing.assert_array_equal(_gray_prediction(true)[2:], true[2:])


def test_gray_prediction_half_colored_by_hand():
    # Half the pixels have error 30.5, half 0: F(t) = 0.5 for t <= 30, 1 for t >= 31.
    # Trapezoid over t = 0..150: 30 * 0.5 + (0.5 + 1) / 2 + 119 * 1 = 134.75; / 150 -> 89.8333 %.
    true = _image(colored_rows=2)
    pred = _gray_prediction(true)
    curve, total = ab_error_curve(pred, true)
    assert total == 16
    assert np.all(curve[:31] == 8) and np.all(curve[31:] == 16)
    assert auc(pred, true) == pytest.approx(100 * 134.75 / 150, abs=1e-9)
    # Both bins equally frequent: rebalancing changes nothing.
    assert auc(pred, true, rebalanced=True) == pytest.approx(100 * 134.75 / 150, abs=1e-9)


def test_rebalancing_by_hand():
    # A quarter of the pixels colored: F = 0.75 below 31, so
    # plain AuC = (30 * 0.75 + 0.875 + 119) / 150 = 94.9167 %.
    # Inverse-frequency weights (p = 3/4 and 1/4) give both bins equal mass: F = 0.5 -> 89.8333 %.
    true = _image(colored_rows=1)
    pred = _gray_prediction(true)
    assert auc(pred, true) == pytest.approx(100 * 142.375 / 150, abs=1e-9)
    assert auc(pred, true, rebalanced=True) == pytest.approx(100 * 134.75 / 150, abs=1e-9)


def test_dataset_auc_pools_pixels_and_uses_a_set_prior():
    # Image 1 all gray, image 2 all colored; gray predictions for both.
    gray_img, col_img = _image(0), _image(4)
    preds = [_gray_prediction(gray_img), _gray_prediction(col_img)]
    trues = [gray_img, col_img]
    curves = [ab_error_curve(p, t) for p, t in zip(preds, trues, strict=True)]
    pooled = auc_from_curves(curves)
    assert pooled == pytest.approx(100 * 134.75 / 150, abs=1e-9)
    assert auc(preds, trues) == pooled
    assert auc(np.stack(preds), np.stack(trues)) == pooled
    # With a prior from the whole set, per-image curves add up to the set-level rebalanced AuC.
    counts = count_ab_bins(trues)
    w = inverse_frequency_weights(counts)
    curves_w = [ab_error_curve(p, t, bin_weights=w) for p, t in zip(preds, trues, strict=True)]
    assert auc_from_curves(curves_w) == pytest.approx(auc(preds, trues, rebalanced=True), abs=1e-12)
    assert auc(preds, trues, rebalanced=True, counts=counts) == auc(preds, trues, rebalanced=True)


def test_count_ab_bins_and_weights():
    true = _image(colored_rows=1)
    counts = count_ab_bins(true)
    assert counts.shape == (len(ab_bins()),) and counts.sum() == 16
    gray_bin = int(nearest_bin(np.zeros(2)))
    col_bin = int(nearest_bin(np.array(AB)))
    assert counts[gray_bin] == 12 and counts[col_bin] == 4
    w = inverse_frequency_weights(counts)
    # 1 / (K p) with K = 2 non-empty bins: 1 / (2 * 3/4) and 1 / (2 * 1/4); zero elsewhere.
    assert w[gray_bin] == pytest.approx(2 / 3) and w[col_bin] == pytest.approx(2.0)
    assert np.count_nonzero(w) == 2
    assert np.sum(counts / counts.sum() * w) == pytest.approx(1.0)


def test_monotone_in_error():
    rng = np.random.default_rng(2)
    lab = np.stack([np.full((12, 12), 60.0), rng.uniform(-15, 15, (12, 12)), rng.uniform(-15, 15, (12, 12))], -1)
    true = lab_to_rgb(lab, dtype=np.float64)
    values = []
    for s in (0.0, 0.25, 0.5, 0.75, 1.0):
        pred_lab = lab.copy()
        pred_lab[..., 1:] *= 1 - s  # per-pixel error s * |ab| grows with s
        values.append(auc(lab_to_rgb(pred_lab, dtype=np.float64), true))
    assert values[0] == pytest.approx(100.0, abs=1e-6)
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_custom_thresholds_and_dtypes():
    true = _image(colored_rows=2)
    pred = _gray_prediction(true)
    # Thresholds 0 and 60 only: F = 0.5, 1 -> trapezoid 0.75 -> 75 %.
    assert auc(pred, true, thresholds=np.array([0, 60])) == pytest.approx(75.0)
    u8_true = (true * 255).round().astype(np.uint8)
    u8_pred = (pred * 255).round().astype(np.uint8)
    assert auc(u8_pred.astype(np.uint16) * 257, u8_true.astype(np.uint16) * 257) == pytest.approx(
        auc(u8_pred, u8_true), abs=1e-9
    )


def test_errors():
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="same shape"):
        ab_error_curve(a, np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="thresholds"):
        ab_error_curve(a, a, thresholds=np.array([5, 3]))
    with pytest.raises(ValueError, match=r"bin_weights must be \(262,\)"):
        ab_error_curve(a, a, bin_weights=np.ones(10))
    with pytest.raises(ValueError, match=r"counts must have shape \(262,\), got \(3,\)"):
        inverse_frequency_weights(np.ones(3))
    with pytest.raises(ValueError, match="not all zero"):
        inverse_frequency_weights(np.zeros(len(ab_bins())))
    with pytest.raises(ValueError, match="as many images"):
        auc([a, a], [a])
    with pytest.raises(ValueError, match="at least one"):
        auc_from_curves([])
    with pytest.raises(ValueError, match="thresholds' shape"):
        auc_from_curves([ab_error_curve(a, a)], thresholds=np.arange(10))
