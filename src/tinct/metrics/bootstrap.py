"""Paired bootstrap intervals for data-set metrics: how much of a difference is the photos drawn.

A data-set score (pooled AuC, mean PSNR) depends on which photos the set holds. Resampling
the photos with replacement, and scoring two methods on the *same* resample each time,
gives the spread of their difference; the percentile interval of that spread is what a
difference such as "rebalanced AuC 8 points above gray" should be read against.

References
----------
.. [1] B. Efron, R. J. Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall, 1993,
   chapter 13 (percentile intervals).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["paired_bootstrap_interval"]


def paired_bootstrap_interval(stat: Callable[[np.ndarray], float], n: int, *, resamples: int = 1000,
                              level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ``stat`` over bootstrap resamples of ``n`` paired items.

    Parameters
    ----------
    stat : callable
        Maps an index array (length ``n``, with repeats) to a number, e.g. a difference of
        two methods' pooled AuC over those photos. Both methods see the same indices.
    n : int
        Number of items (photos); > 0.
    resamples : int, optional
        Number of resamples; > 0.
    level : float, optional
        Coverage of the interval, in (0, 1).
    seed : int, optional
        Seed of the resampling (the interval is reproducible).

    Returns
    -------
    low, high : float

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> low, high = paired_bootstrap_interval(lambda i: x[i].mean() - x[i].mean(), 10)
    >>> low, high
    (0.0, 0.0)
    """
    if n < 1 or resamples < 1:
        raise ValueError(f"n and resamples must be >= 1, got {n} and {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    values = np.array([stat(rng.integers(0, n, n)) for _ in range(resamples)], np.float64)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
