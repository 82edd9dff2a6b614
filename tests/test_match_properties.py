"""Property tests: any small image, any method and options -> a valid image, never NaN."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinct.match import METHODS, Palette, transfer

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]


def _image(seed: int, h: int, w: int, dtype, alpha: bool, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = 4 if alpha else 3
    x = rng.random((h, w, c))
    if kind == "constant":
        x[..., :3] = x[:1, :1, :3]
    elif kind == "gray":  # rank-1 colours: singular covariance
        x[..., 1] = x[..., 0]
        x[..., 2] = x[..., 0]
    elif kind == "binary":  # two levels per channel
        x = np.round(x)
    if np.dtype(dtype).kind == "u":
        return np.rint(x * np.iinfo(dtype).max).astype(dtype)
    return x.astype(dtype)


images = st.builds(
    _image,
    seed=st.integers(0, 2**31 - 1),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    dtype=st.sampled_from(DTYPES),
    alpha=st.booleans(),
    kind=st.sampled_from(["random", "constant", "gray", "binary"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    src=images,
    ref=images,
    method=st.sampled_from(METHODS + ("reinhard-hm", "sot-mkl")),
    strength=st.sampled_from([0.0, 0.3, 1.0]),
    preserve_luminance=st.booleans(),
    regrain=st.booleans(),
    use_mask=st.booleans(),
    as_palette=st.booleans(),
)
def test_any_input_gives_a_valid_image(src, ref, method, strength, preserve_luminance, regrain, use_mask,
                                       as_palette):
    mask = None
    if use_mask:
        mask = np.random.default_rng(1).random(src.shape[:2]).astype(np.float32)
        mask[0, 0] = 0.0
    reference = Palette.from_json(Palette.from_image(ref).to_json()) if as_palette else ref
    out = transfer(src, reference, method, strength=strength, preserve_luminance=preserve_luminance,
                   regrain=regrain, mask=mask)
    assert out.shape == src.shape
    if src.dtype.kind == "u":
        assert out.dtype == src.dtype
    else:
        assert out.dtype == np.float32
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    if src.shape[2] == 4:
        assert np.array_equal(out[..., 3], src[..., 3].astype(out.dtype))
    if strength == 0:
        assert np.array_equal(out, src.astype(out.dtype))
    if mask is not None:
        assert np.array_equal(out[0, 0], src[0, 0].astype(out.dtype))


@settings(max_examples=40, deadline=None)
@given(ref=images)
def test_palette_json_round_trip_is_exact(ref):
    p = Palette.from_image(ref)
    q = Palette.from_json(p.to_json())
    assert q.to_json() == p.to_json()
    for name in ("mean", "cov", "lab_mean", "lab_std", "lalphabeta_mean", "lalphabeta_std", "sample"):
        a, b = getattr(p, name), getattr(q, name)
        assert np.array_equal(a, b) and np.isfinite(a).all()
    for (va, pa), (vb, pb) in zip(p.cdf, q.cdf, strict=True):
        assert np.array_equal(va, vb) and np.array_equal(pa, pb)
