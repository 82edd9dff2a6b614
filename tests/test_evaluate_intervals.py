"""paired_differences: pooled and paired, as a hand-written loop computes it; edge cases."""

import numpy as np
import pytest

from tinct.evaluate import paired_differences
from tinct.metrics import THRESHOLDS, auc_from_curves

RNG = np.random.default_rng(11)


def _curves(n: int, scale: float) -> list:
    """Per-photo (cumulative curve, total) pairs of photos of different sizes (totals)."""
    out = []
    for _ in range(n):
        total = float(RNG.integers(500, 5000))
        err = RNG.exponential(scale, int(total))
        out.append((np.searchsorted(np.sort(err), THRESHOLDS, side="right").astype(np.float64), total))
    return out


def test_matches_a_hand_written_pooled_paired_loop():
    n, resamples = 12, 300
    method, gray = _curves(n, 8.0), _curves(n, 12.0)
    method_rb, gray_rb = _curves(n, 20.0), _curves(n, 30.0)
    psnr = RNG.normal(0.3, 1.0, n)
    got = paired_differences(psnr, method, gray, method_rb, gray_rb, resamples=resamples)

    def pooled(cs, i):
        return auc_from_curves([(sum(cs[k][0] for k in i), sum(cs[k][1] for k in i))])

    rng = np.random.default_rng(0)  # paired_bootstrap_interval's default seed
    draws = [rng.integers(0, n, n) for _ in range(resamples)]
    for key, a, b in (("auc", method, gray), ("auc_rebalanced", method_rb, gray_rb)):
        values = [pooled(a, i) - pooled(b, i) for i in draws]  # the same photos for both: paired
        assert got[key]["interval"] == pytest.approx(list(np.percentile(values, [2.5, 97.5])), abs=1e-9), key
        assert got[key]["difference"] == pytest.approx(pooled(a, range(n)) - pooled(b, range(n))), key
    assert got["psnr"]["difference"] == pytest.approx(psnr.mean())
    assert got["psnr"]["interval"] == pytest.approx(list(np.percentile([psnr[i].mean() for i in draws], [2.5, 97.5])))


def test_equal_methods_give_zero_width_and_exact_photos_leave_psnr():
    n = 8
    same = _curves(n, 10.0)
    psnr = np.full(n, 0.5)
    psnr[2] = np.inf  # one photo reproduced exactly: out of the PSNR difference, no NaN
    got = paired_differences(psnr, same, same, same, same, resamples=200)
    assert got["auc"]["interval"] == [0.0, 0.0] and got["auc_rebalanced"]["interval"] == [0.0, 0.0]
    assert got["psnr"] == {"difference": 0.5, "interval": [0.5, 0.5]}
    all_exact = paired_differences(np.full(n, np.inf), same, same, same, same, resamples=50)
    assert "psnr" not in all_exact and "auc" in all_exact


def test_one_photo_gives_no_intervals():
    one = _curves(1, 10.0)
    assert paired_differences(np.array([0.2]), one, one, one, one, resamples=100) is None
