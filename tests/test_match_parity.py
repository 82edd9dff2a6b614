"""Parity with independent implementations on real photos.

* color-matcher (GPL-3.0; a dev/test-only install, never imported by tinct): ``mkl`` agrees to
  float round-off; ``reinhard`` to well under one 8-bit level on average (pixels with a zero
  channel differ by design: color-matcher raises exact zeros to 1/255 and maps them like 1/255,
  tinct maps ``max(x, 1/255)`` and keeps the difference, so shadows below 1/255 are not merged;
  far out-of-gamut colours differ because color-matcher inverts the LMS matrix with the paper's
  4-decimal printed inverse); ``hm`` differs
  by the CDF convention: color-matcher (and scikit-image) place a level at its upper cumulative
  probability ``C / N``, tinct at the mid-rank ``(C - c / 2) / N``, which is unbiased and sends a
  constant photo to the reference median rather than its maximum. Where the reference histogram is
  sparse half a bin of probability can be several levels, so we compare the average difference
  and that both match the reference's per-channel distributions equally well.
* scikit-image's ``match_histograms``: the same comparison for ``hm``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinct.match import transfer

PAIRS = [("astronaut", "coffee"), ("chelsea", "rocket"), ("rocket", "astronaut")]


def _cdf_dist(a, b):
    p = np.linspace(0, 1, 1001)
    a, b = a.reshape(-1, 3), b.reshape(-1, 3)
    return sum(np.abs(np.quantile(a[:, c], p) - np.quantile(b[:, c], p)).mean() for c in range(3))


@pytest.fixture(scope="module")
def float_pairs(photos):
    return [(photos[s].astype(np.float64) / 255, photos[r].astype(np.float64) / 255) for s, r in PAIRS]


@pytest.fixture(scope="module")
def color_matcher():
    cm = pytest.importorskip("color_matcher")
    return cm.ColorMatcher


def _theirs(cls, src, ref, method):
    return np.clip(cls().transfer(src=src.copy(), ref=ref.copy(), method=method), 0, 1)


def test_mkl_matches_color_matcher(float_pairs, color_matcher):
    for src, ref in float_pairs:
        d = np.abs(transfer(src, ref, "mkl") - _theirs(color_matcher, src, ref, "mkl"))
        assert d.max() < 1e-4  # measured 0.000 8-bit levels: the same map (float32 vs float64)


def test_reinhard_matches_color_matcher(float_pairs, color_matcher):
    for src, ref in float_pairs:
        raw = color_matcher().transfer(src=src.copy(), ref=ref.copy(), method="reinhard")
        d = np.abs(transfer(src, ref, "reinhard") - np.clip(raw, 0, 1)) * 255
        # measured mean 0.16-0.33 levels, 99th percentile 0.7-2.1 levels
        assert d.mean() < 0.5 and np.percentile(d, 99) < 3
        # away from the two known differences (exact zeros in the source; colours far out of
        # gamut, where color-matcher's 4-decimal inverse of the LMS matrix, printed in the paper,
        # and our exact inverse diverge) the maps agree: measured max 0.75-1.83, mean 0.14-0.27
        ok = (src.min(axis=2) > 0) & np.all((raw >= 0) & (raw <= 1), axis=2)
        assert d[ok].max() < 2.5 and d[ok].mean() < 0.4


def test_hm_agrees_with_color_matcher_up_to_the_cdf_convention(float_pairs, color_matcher):
    for src, ref in float_pairs:
        ours = transfer(src, ref, "hm")
        theirs = _theirs(color_matcher, src, ref, "hm")
        d = np.abs(ours - theirs) * 255
        assert d.mean() < 1.5  # measured 0.34-1.26 levels
        # both match the reference's per-channel distributions equally well (ours slightly better)
        assert _cdf_dist(ours, ref) <= _cdf_dist(theirs, ref) * 1.05 + 1e-3


def test_hm_mkl_hm_agrees_with_color_matcher(float_pairs, color_matcher):
    for src, ref in float_pairs:
        d = np.abs(transfer(src, ref, "hm-mkl-hm") - _theirs(color_matcher, src, ref, "hm-mkl-hm")) * 255
        assert d.mean() < 1.5  # measured 0.54-1.02 levels (the hm convention again)


def test_hm_agrees_with_skimage(photos):
    from skimage.exposure import match_histograms

    for s, r in PAIRS:
        src, ref = photos[s], photos[r]
        ours = transfer(src, ref, "hm").astype(np.float64)
        theirs = match_histograms(src, ref, channel_axis=-1).astype(np.float64)
        assert np.abs(ours - theirs).mean() < 1.5
        assert _cdf_dist(ours, ref) <= _cdf_dist(theirs, ref) * 1.05 + 0.3
