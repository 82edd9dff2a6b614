"""tinct.color.gamut: ab bins, soft encoding, annealed mean, class rebalancing, gamut clipping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinct.color.gamut import (
    GRID,
    ab_bins,
    ab_histogram,
    annealed_mean,
    clip_ab_to_gamut,
    nearest_bin,
    rebalance_weights,
    soft_encode,
)
from tinct.color.lab import gamut_mask, rgb_to_lab

RNG = np.random.default_rng(0)
PROPS = settings(max_examples=30, deadline=None)
Q = 262


def cube_surface(n: int) -> np.ndarray:
    """All six faces of the RGB cube sampled on an n x n grid, shape (6 n^2, 3)."""
    t = np.linspace(0.0, 1.0, n)
    u, v = (x.ravel() for x in np.meshgrid(t, t, indexing="ij"))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            cols = [u, v]
            cols.insert(axis, np.full_like(u, value))
            faces.append(np.stack(cols, -1))
    return np.concatenate(faces)


def cells_of(rgb: np.ndarray) -> set[tuple[int, int]]:
    """The 10 x 10 ab cells that the given sRGB colours fall in, as integer grid coordinates."""
    ab = rgb_to_lab(rgb, dtype=np.float64)[:, 1:]
    return set(map(tuple, np.floor(ab / GRID + 0.5).astype(int).tolist()))


def bin_cells() -> set[tuple[int, int]]:
    return set(map(tuple, np.round(ab_bins() / GRID).astype(int).tolist()))


# ----------------------------------------------------------------------------- bins


def test_bins_shape_dtype_and_grid():
    bins = ab_bins()
    assert bins.shape == (Q, 2) and bins.dtype == np.float32
    np.testing.assert_array_equal(bins % GRID, 0)
    assert len(bin_cells()) == Q  # no duplicates
    assert np.abs(bins).max() <= 110
    assert ab_bins() is bins  # cached


def test_bin_count_is_stable_under_finer_sampling():
    finer = cells_of(cube_surface(513))  # twice as fine as the implementation's 257
    assert len(finer) == Q
    assert finer == bin_cells()  # every bin's cell holds an sRGB colour, and no cell is missing


def test_interior_colours_fall_in_bins():
    rgb = RNG.random((50_000, 3))
    assert cells_of(rgb) <= bin_cells()
    ab = rgb_to_lab(rgb)[:, 1:]
    nearest = ab_bins()[nearest_bin(ab)]
    assert np.abs(ab - nearest).max() <= GRID / 2 + 1e-3  # each colour's own cell is a bin


def test_nearest_bin():
    bins = ab_bins()
    np.testing.assert_array_equal(nearest_bin(bins), np.arange(Q))
    np.testing.assert_array_equal(nearest_bin(bins + 2.0), np.arange(Q))
    idx = nearest_bin(np.zeros((2, 3, 2)))
    assert idx.shape == (2, 3) and idx.dtype == np.int64
    assert (bins[idx] == 0).all()


# ----------------------------------------------------------------------------- soft encoding


def test_soft_encode_basics():
    ab = RNG.uniform(-90, 90, (4, 5, 2))
    idx, w = soft_encode(ab)
    assert idx.shape == (4, 5, 5) and w.shape == (4, 5, 5)
    assert idx.dtype == np.int64 and w.dtype == np.float32
    np.testing.assert_allclose(w.sum(-1), 1, atol=1e-6)
    np.testing.assert_array_equal(idx[..., 0], nearest_bin(ab))
    assert (np.diff(w, axis=-1) <= 1e-7).all()  # nearest bin gets the most mass


def test_soft_encode_on_a_bin_centre_and_k1():
    bins = ab_bins()
    idx, w = soft_encode(bins[:10], k=1)
    np.testing.assert_array_equal(idx[:, 0], np.arange(10))
    np.testing.assert_array_equal(w, 1)
    # At a bin centre the 4 grid neighbours sit 10 away: weight ratio exp(-100 / (2 * 25)).
    idx, w = soft_encode(np.zeros(2))
    assert idx.shape == (5,) and bins[idx[0]].tolist() == [0, 0]
    np.testing.assert_allclose(w[1:] / w[0], np.exp(-2.0), rtol=1e-4)


def test_soft_encode_far_colour_does_not_underflow():
    idx, w = soft_encode(np.array([[400.0, -400.0], [1e4, 1e4]]))
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w.sum(-1), 1, atol=1e-6)


def test_soft_encode_errors():
    with pytest.raises(ValueError, match="2 channels"):
        soft_encode(np.zeros((4, 3)))


@PROPS
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).map(lambda s: (*s, 2)),
        elements=st.floats(-130, 130),
    ),
    st.integers(1, 8),
)
def test_property_soft_encode(ab, k):
    idx, w = soft_encode(ab, k=k)
    assert idx.shape == ab.shape[:-1] + (k,) and np.isfinite(w).all() and (w >= 0).all()
    np.testing.assert_allclose(w.sum(-1), 1, atol=1e-5)
    # The first index is a nearest bin (on a tie between two bins either one will do).
    dist = np.linalg.norm(ab_bins()[idx[..., 0]] - ab.astype(np.float32), axis=-1)
    best = np.linalg.norm(ab_bins()[nearest_bin(ab)] - ab.astype(np.float32), axis=-1)
    np.testing.assert_allclose(dist, best, atol=1e-4)


# ----------------------------------------------------------------------------- annealed mean


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_decode_one_hot_is_bin_centre():
    logits = np.zeros((Q, Q), np.float32)
    logits[np.arange(Q), np.arange(Q)] = 1e4
    np.testing.assert_allclose(annealed_mean(logits), ab_bins(), atol=1e-4)
    np.testing.assert_allclose(annealed_mean(logits, temperature=1.0), ab_bins(), atol=1e-4)


def test_temperature_limits():
    logits = RNG.normal(0, 2, (50, Q)).astype(np.float32)
    mode = ab_bins()[logits.argmax(-1)]
    np.testing.assert_allclose(annealed_mean(logits, temperature=1e-3), mode, atol=1e-3)
    mean = softmax(logits.astype(np.float64)) @ ab_bins()
    np.testing.assert_allclose(annealed_mean(logits, temperature=1.0), mean, atol=1e-3)
    np.testing.assert_allclose(annealed_mean(logits, temperature=0.38), softmax(logits / 0.38) @ ab_bins(), atol=1e-3)
    # above 1 the distribution flattens: the mean of all bins in the limit (the shipped default is 1.25)
    np.testing.assert_allclose(annealed_mean(logits, temperature=1.25), softmax(logits / 1.25) @ ab_bins(), atol=1e-3)
    np.testing.assert_allclose(annealed_mean(logits, temperature=1e4), np.broadcast_to(ab_bins().mean(0), (50, 2)),
                               atol=0.05)


def test_annealed_mean_is_shift_invariant_and_takes_log_probabilities():
    logits = RNG.normal(0, 1, (10, Q)).astype(np.float32)
    a = annealed_mean(logits)
    np.testing.assert_allclose(annealed_mean(logits + 100), a, atol=1e-3)
    log_p = np.log(softmax(logits.astype(np.float64)))
    np.testing.assert_allclose(annealed_mean(log_p), a, atol=1e-3)


def test_annealed_mean_axis_and_shapes():
    logits = RNG.normal(0, 1, (2, Q, 3, 4)).astype(np.float32)
    out = annealed_mean(logits, axis=1)
    assert out.shape == (2, 3, 4, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, annealed_mean(np.moveaxis(logits, 1, -1)), atol=1e-5)
    assert annealed_mean(np.zeros(Q)).shape == (2,)


@pytest.mark.parametrize("t", [0.0, -0.5])
def test_annealed_mean_rejects_bad_temperature(t):
    with pytest.raises(ValueError, match="temperature"):
        annealed_mean(np.zeros(Q), temperature=t)


def test_annealed_mean_huge_logits_are_finite():
    logits = RNG.normal(0, 1e4, (20, Q)).astype(np.float32)
    assert np.isfinite(annealed_mean(logits, temperature=0.01)).all()


# ----------------------------------------------------------------------------- rebalancing


def test_histogram():
    ab = rgb_to_lab(RNG.random((30, 40, 3)))[..., 1:]
    counts = ab_histogram(ab)
    assert counts.shape == (Q,) and counts.sum() == 30 * 40
    np.testing.assert_array_equal(counts, np.bincount(nearest_bin(ab).ravel(), minlength=Q))


def test_rebalance_expected_weight_is_one():
    counts = RNG.integers(0, 1000, Q).astype(np.float64)
    prior = counts / counts.sum()
    w = rebalance_weights(counts, sigma=1e-6)  # no smoothing: the prior is the histogram
    assert w.shape == (Q,) and w.dtype == np.float32
    np.testing.assert_allclose((prior * w).sum(), 1, atol=1e-5)
    for lam in (0.0 + 1e-3, 0.5, 0.9):
        w = rebalance_weights(counts + 1, lam=lam, sigma=1e-6)
        np.testing.assert_allclose(((counts + 1) / (counts + 1).sum() * w).sum(), 1, atol=1e-5)


def test_rarer_bins_get_larger_weights():
    counts = RNG.permutation(np.arange(1, Q + 1)).astype(np.float64) ** 2
    w = rebalance_weights(counts, sigma=1e-6)
    order = np.argsort(counts)
    assert (np.diff(w[order]) < 0).all()
    # With the paper's smoothing: a bin with no colour near it outweighs the common one.
    peaked = np.zeros(Q)
    common = int(nearest_bin(np.zeros(2)))
    peaked[common] = 1000
    w = rebalance_weights(peaked)
    assert w[common] == w.min() and w.max() > w[common]
    assert np.isfinite(w).all() and (w > 0).all()


def test_lambda_one_gives_uniform_weights():
    counts = RNG.integers(1, 1000, Q).astype(np.float64)
    np.testing.assert_allclose(rebalance_weights(counts, lam=1.0), 1, atol=1e-6)


def test_rebalance_errors():
    with pytest.raises(ValueError, match="shape"):
        rebalance_weights(np.ones(Q + 1))
    with pytest.raises(ValueError, match="zero"):
        rebalance_weights(np.zeros(Q))


# ----------------------------------------------------------------------------- gamut clipping


def random_lab(n: int) -> np.ndarray:
    return np.stack([RNG.uniform(1, 99, n), RNG.uniform(-128, 127, n), RNG.uniform(-128, 127, n)], -1)


def test_clip_output_is_in_gamut_with_hue_and_lightness_kept():
    lab = random_lab(5000)
    out = clip_ab_to_gamut(lab)
    assert out.shape == lab.shape and out.dtype == np.float32
    assert gamut_mask(out, tol=1e-4).all()
    np.testing.assert_allclose(out[:, 0], lab[:, 0], atol=1e-4)
    chroma_in, chroma_out = np.hypot(lab[:, 1], lab[:, 2]), np.hypot(out[:, 1], out[:, 2])
    assert (chroma_out <= chroma_in + 1e-3).all()
    # Same hue: ab scaled by one non-negative factor.
    cross = out[:, 1] * lab[:, 2] - out[:, 2] * lab[:, 1]
    dot = out[:, 1] * lab[:, 1] + out[:, 2] * lab[:, 2]
    assert np.abs(cross).max() < 1e-2 * chroma_in.max() and (dot >= -1e-6).all()


def test_clip_is_tight():
    """Bisection with 8 halvings: two resolution steps more chroma would leave the gamut."""
    lab = random_lab(2000)
    out = clip_ab_to_gamut(lab).astype(np.float64)
    clipped = ~gamut_mask(lab, tol=1e-4)
    assert clipped.sum() > 100
    chroma_in = np.hypot(lab[clipped, 1], lab[clipped, 2])
    chroma_out = np.hypot(out[clipped, 1], out[clipped, 2])
    wider = out[clipped].copy()
    scale = (chroma_out + 2 * chroma_in / 256) / np.maximum(chroma_out, 1e-9)
    wider[:, 1:] *= scale[:, None]
    wider[chroma_out < 1e-9, 1:] = lab[clipped][chroma_out < 1e-9, 1:] * (2 / 256)
    assert not gamut_mask(wider, tol=1e-4).any()


def test_in_gamut_input_is_unchanged():
    lab = rgb_to_lab(RNG.random((20, 30, 3)))
    np.testing.assert_array_equal(clip_ab_to_gamut(lab), lab)


@PROPS
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).map(lambda s: (*s, 3)),
        elements=st.floats(-150, 150),
    )
)
def test_property_clip(lab):
    lab = lab.copy()
    lab[..., 0] = np.abs(lab[..., 0]) % 100
    out = clip_ab_to_gamut(lab)
    assert out.shape == lab.shape and np.isfinite(out).all()
    assert gamut_mask(out, tol=1e-4).all()
