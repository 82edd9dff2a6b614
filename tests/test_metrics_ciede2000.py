"""tinct.metrics.ciede2000: checked against Sharma, Wu & Dalal (2005), Table 1."""

from pathlib import Path

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000

from tinct.color.lab import lab_to_rgb
from tinct.metrics import deltae_ciede2000, mean_ciede2000

# Columns: pair, L1, a1, b1, L2, a2, b2, published Delta E00 (4 decimals).
SHARMA = np.loadtxt(Path(__file__).parent / "data" / "sharma_ciede2000.csv", delimiter=",", comments="#", skiprows=2)


def test_table_is_complete():
    assert SHARMA.shape == (34, 8)
    assert list(SHARMA[:, 0]) == list(range(1, 35))


def test_all_34_published_pairs():
    got = deltae_ciede2000(SHARMA[:, 1:4], SHARMA[:, 4:7])
    # The table rounds to 4 decimals: 0.5e-4 of rounding, plus float noise.
    np.testing.assert_allclose(got, SHARMA[:, 7], rtol=0, atol=1e-4)


@pytest.mark.parametrize("row", range(34))
def test_each_pair_and_its_swap(row):
    lab1, lab2, expected = SHARMA[row, 1:4], SHARMA[row, 4:7], SHARMA[row, 7]
    assert float(deltae_ciede2000(lab1, lab2)) == pytest.approx(expected, abs=1e-4)
    assert float(deltae_ciede2000(lab2, lab1)) == pytest.approx(expected, abs=1e-4)


def test_matches_skimage_on_random_colours():
    rng = np.random.default_rng(0)
    lab1 = rng.uniform([0, -110, -110], [100, 110, 110], (2000, 3))
    lab2 = rng.uniform([0, -110, -110], [100, 110, 110], (2000, 3))
    np.testing.assert_allclose(deltae_ciede2000(lab1, lab2), deltaE_ciede2000(lab1, lab2), atol=1e-9)
    kw = dict(kL=2, kC=1.5, kH=0.5)
    np.testing.assert_allclose(deltae_ciede2000(lab1, lab2, **kw), deltaE_ciede2000(lab1, lab2, **kw), atol=1e-9)


def test_shapes_and_broadcasting():
    lab = np.zeros((4, 5, 3))
    lab[..., 0] = 50
    out = deltae_ciede2000(lab, np.array([50.0, 10.0, 0.0]))
    assert out.shape == (4, 5)
    assert out.dtype == np.float64
    assert np.ptp(out) == 0
    assert np.ndim(deltae_ciede2000([50, 0, 0], [50, 0, 0])) == 0


def test_properties():
    rng = np.random.default_rng(1)
    lab = rng.uniform([0, -80, -80], [100, 80, 80], (500, 3))
    assert np.all(deltae_ciede2000(lab, lab) == 0)
    other = lab + rng.normal(0, 3, lab.shape)
    d = deltae_ciede2000(lab, other)
    assert np.all(d > 0)
    # kL scales the lightness term only: pure-L differences shrink by exactly kL.
    lighter = lab + [5, 0, 0]
    np.testing.assert_allclose(deltae_ciede2000(lab, lighter, kL=2), deltae_ciede2000(lab, lighter) / 2, rtol=1e-12)


def test_mean_ciede2000_on_rgb():
    rng = np.random.default_rng(2)
    lab = np.stack([rng.uniform(30, 70, (6, 7)), rng.uniform(-20, 20, (6, 7)), rng.uniform(-20, 20, (6, 7))], -1)
    shifted = lab + [0, 5, -5]
    a = lab_to_rgb(lab, dtype=np.float64)
    b = lab_to_rgb(shifted, dtype=np.float64)
    assert mean_ciede2000(a, b) == pytest.approx(float(np.mean(deltaE_ciede2000(lab, shifted))), abs=1e-4)
    img = (a * 255).round().astype(np.uint8)
    assert mean_ciede2000(img, img) == 0.0
    assert mean_ciede2000(img, img.astype(np.uint16) * 257) == pytest.approx(0.0, abs=1e-9)


def test_errors():
    with pytest.raises(ValueError, match=r"last axis, got \(4, 2\)"):
        deltae_ciede2000(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="broadcast"):
        deltae_ciede2000(np.zeros((4, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="same shape"):
        mean_ciede2000(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 3, 3), np.uint8))
