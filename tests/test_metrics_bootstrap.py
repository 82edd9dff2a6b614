"""paired_bootstrap_interval: exact cases, the textbook width for a mean, reproducibility, errors."""

import numpy as np
import pytest

from tinct.metrics import paired_bootstrap_interval

RNG = np.random.default_rng(5)


def test_identical_methods_and_a_constant_shift_give_point_intervals():
    x = RNG.normal(size=50)
    assert paired_bootstrap_interval(lambda i: x[i].mean() - x[i].mean(), 50) == (0.0, 0.0)
    low, high = paired_bootstrap_interval(lambda i: (x[i] + 2).mean() - x[i].mean(), 50)
    assert low == pytest.approx(2.0) and high == pytest.approx(2.0)  # paired: the photo-to-photo spread cancels


def test_interval_of_a_mean_has_the_normal_width():
    """Mean of 400 draws of N(1, 1): the 95% interval is about mean +- 1.96 / sqrt(400) = +-0.098."""
    x = RNG.normal(1.0, 1.0, 400)
    low, high = paired_bootstrap_interval(lambda i: float(x[i].mean()), len(x), resamples=2000)
    assert low < x.mean() < high
    assert high - low == pytest.approx(2 * 1.96 * x.std() / np.sqrt(400), rel=0.15)
    wide = paired_bootstrap_interval(lambda i: float(x[:100][i].mean()), 100, resamples=2000)
    assert wide[1] - wide[0] > 1.6 * (high - low)  # a quarter of the photos: about twice as wide


def test_same_seed_same_interval_and_level_widens_it():
    x = RNG.normal(size=80)
    stat = lambda i: float(x[i].mean())  # noqa: E731
    assert paired_bootstrap_interval(stat, 80, seed=3) == paired_bootstrap_interval(stat, 80, seed=3)
    a, b = paired_bootstrap_interval(stat, 80, level=0.8), paired_bootstrap_interval(stat, 80, level=0.99)
    assert b[0] < a[0] < a[1] < b[1]


@pytest.mark.parametrize("kw", [{"n": 0}, {"n": 5, "resamples": 0}, {"n": 5, "level": 1.0}, {"n": 5, "level": 0}])
def test_bad_arguments(kw):
    with pytest.raises(ValueError, match="n and resamples|level"):
        paired_bootstrap_interval(lambda i: 0.0, **kw)
