"""Guided colorization: hint parsing, edge-aware propagation, hints on real photos, references."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from tinct.color.lab import lab_to_rgb, rgb_to_lab
from tinct.guide.hints import Hint, hints_from_json, hints_from_scribbles, parse_color, parse_hint, rasterize
from tinct.guide.levin import PropagationSolver, affinity_laplacian
from tinct.metrics import deltae_ciede2000


# ---------------------------------------------------------------- parsing
def test_parse_hint_forms():
    assert parse_hint("10,20,#ff0000") == Hint(10, 20, (255, 0, 0), 0)
    assert parse_hint(" 5 , 6 , 00ff00 , 3 ") == Hint(5, 6, (0, 255, 0), 3)
    assert parse_color([1, 2, 3]) == (1, 2, 3)


@pytest.mark.parametrize("bad", ["10,20", "a,b,#ff0000", "1,2,#ff00", "1,2,#ff0000,-1", "1,2,#gg0000"])
def test_parse_hint_errors(bad):
    with pytest.raises(ValueError, match="--hint"):
        parse_hint(bad)


def test_hints_json_schema(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"hints": [{"x": 1, "y": 2, "color": "#102030", "radius": 4},
                                       {"x": 3, "y": 4, "color": [9, 8, 7]}]}))
    assert hints_from_json(p) == [Hint(1, 2, (16, 32, 48), 4), Hint(3, 4, (9, 8, 7), 0)]
    p.write_text("[{\"x\": 1}]")
    with pytest.raises(ValueError, match="hint 0"):
        hints_from_json(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        hints_from_json(p)


def test_scribbles_from_transparent_layer(tmp_path):
    layer = np.zeros((40, 60, 4), np.uint8)
    layer[10:12, 5:25] = (200, 30, 40, 255)  # one red stroke, 2 x 20 px
    Image.fromarray(layer, "RGBA").save(tmp_path / "s.png")
    hints = hints_from_scribbles(tmp_path / "s.png")
    assert len(hints) == 40 and {h.rgb for h in hints} == {(200, 30, 40)}
    assert {(h.x, h.y) for h in hints} == {(x, y) for y in (10, 11) for x in range(5, 25)}
    Image.fromarray(np.zeros((8, 8, 4), np.uint8), "RGBA").save(tmp_path / "empty.png")
    with pytest.raises(ValueError, match="no coloured strokes"):
        hints_from_scribbles(tmp_path / "empty.png")


def test_rasterize_disc_and_scale():
    mask, ab = rasterize([Hint(10, 10, (255, 0, 0), 2)], (21, 21))
    assert mask.sum() == 13  # a radius-2 disc of pixel centres
    assert np.allclose(ab[10, 10], rgb_to_lab(np.array([255, 0, 0], np.uint8))[1:], atol=1e-3)
    small, _ = rasterize([Hint(10, 10, (255, 0, 0), 0)], (5, 5), scale=(0.25, 0.25))
    assert small.sum() == 1 and small[2, 2]


# ---------------------------------------------------------------- propagation
def _two_regions(h: int = 48, w: int = 64, edge: int = 32) -> np.ndarray:
    return np.where(np.arange(w)[None, :] < edge, 30.0, 80.0).repeat(h, 0).astype(np.float32)


def test_laplacian_rows_sum_to_zero_and_edges_are_weak():
    light = _two_regions()
    lap = affinity_laplacian(light)
    assert np.abs(np.asarray(lap.sum(axis=1))).max() < 1e-9
    w = 64
    across = -lap[10 * w + 31, 10 * w + 32]  # neighbours on either side of the edge
    within = -lap[10 * w + 30, 10 * w + 31]
    assert within > 0.9 and across < 1e-6


def test_colour_does_not_cross_a_strong_edge():
    """Levin engine on a synthetic two-region image: one red hint on the dark side."""
    from tinct.guide import colorize_guided

    light = _two_regions()
    gray = np.round(lab_to_rgb(np.dstack([light, 0 * light, 0 * light])) * 255).astype(np.uint8)
    out = colorize_guided(gray, hints=[Hint(8, 24, (160, 40, 40), 2)], engine="levin")
    lab = rgb_to_lab(out)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma[:, :30].mean() > 15, "the hint's colour fills its region"
    assert chroma[:, 34:].mean() < 1.5, "and stops at the edge"


def test_colour_crosses_thin_lines_but_not_an_outline():
    """A shingled wall: 1-px dark lines every 6 rows on the dark side. The hint's colour reaches the
    far side of the lines (the affinities read a median-filtered L) and still stops at the outline."""
    light = _two_regions(48, 64, 32)
    light[::6, :32] = 5.0  # shingle lines: a step of 25 L, as strong as an edge for one pixel
    mask = np.zeros(light.shape, bool)
    vals = np.zeros(light.shape + (2,), np.float32)
    mask[2:4, 8:10], vals[2:4, 8:10] = True, (40.0, 20.0)
    field = PropagationSolver(light).solve(mask, vals)  # the network-guided data weight: hints fade
    a = field[..., 0]
    # past seven lines, about half the colour is left (0.55; without the median 5e-12)
    assert a[40:47, :30].mean() > 0.4 * a[2:4, 8:10].mean()
    assert np.abs(a[:, 34:]).mean() < 0.02 * a[2:4, 8:10].mean(), "the outline still stops it"
    raw = affinity_laplacian(light)  # across a line, without the median the link would be ~0
    assert -raw[6 * 64 + 8, 7 * 64 + 8] > 0.5


def test_cached_factorisation_serves_the_next_hint():
    rng = np.random.default_rng(0)
    light = (rng.random((40, 50)) * 5 + _two_regions(40, 50, 25)).astype(np.float32)
    solver = PropagationSolver(light)
    mask = np.zeros((40, 50), bool)
    vals = np.zeros((40, 50, 2), np.float32)
    mask[5, 5], vals[5, 5] = True, (30, -20)
    solver.solve(mask, vals)
    mask[30, 40], vals[30, 40] = True, (-10, 40)
    warm = solver.solve(mask, vals)
    assert solver.solves == {"factorised": 1, "cg": 1}
    fresh = PropagationSolver(light).solve(mask, vals)
    assert np.abs(warm - fresh).max() < 0.05


# ---------------------------------------------------------------- on real photos with the network
@pytest.fixture(scope="module")
def camera_session(photos):
    pytest.importorskip("torch")
    from tinct.guide import GuidedSession

    return GuidedSession(photos["camera"])


def test_hint_pixels_get_the_requested_colour(camera_session, photos):
    """ΔE00 < 3 at hint pixels (colour compared at the photo's own lightness)."""
    gray = photos["camera"]
    light = rgb_to_lab(np.repeat(gray[..., None], 3, -1))[..., 0]
    pts = [(100, 60, (25, -35)), (300, 450, (-30, 30)), (250, 200, (30, 15)), (420, 300, (10, 25))]
    hints, wanted = [], []
    for x, y, ab in pts:
        rgb = np.round(lab_to_rgb(np.array([light[y, x], *ab])) * 255).astype(np.uint8)
        hints.append(Hint(x, y, tuple(int(c) for c in rgb), 1))
        wanted.append(rgb_to_lab(rgb)[1:])
    out = rgb_to_lab(camera_session.render(hints))
    for (x, y, _), ab in zip(pts, wanted, strict=True):
        got = np.array([light[y, x], *out[y, x, 1:]])
        want = np.array([light[y, x], *ab])
        assert deltae_ciede2000(got, want) < 3.0


def test_a_hint_recolours_its_region_and_leaves_the_rest(camera_session):
    base = camera_session.render([]).astype(np.int16)
    # a red hint on the cameraman's dark coat
    out = camera_session.render([Hint(150, 300, (120, 20, 30), 4)]).astype(np.int16)
    diff = np.abs(out - base).sum(axis=-1)
    assert diff[280:320, 130:170].mean() > 20
    assert diff[:120, 300:].mean() < 2  # the sky far away keeps the automatic colours


def test_hints_of_the_wrong_kind_say_so(camera_session):
    with pytest.raises(TypeError, match=r"hints must be tinct.Hint\(x, y, rgb, radius\) objects, got \(10, 10"):
        camera_session.render([(10, 10, (255, 0, 0))])
    with pytest.raises(TypeError, match="hint radius must be a number, got 'a'"):
        Hint(1, 2, (1, 2, 3), radius="a")
    assert Hint(1, 2, "#ff8000").rgb == (255, 128, 0)  # the CLI's and the web API's colour form


def test_hints_outside_the_photo_are_refused(camera_session):
    with pytest.raises(ValueError, match="outside the 512x512 photo"):
        camera_session.render([Hint(600, 10, (1, 2, 3))])


def test_reference_from_the_same_scene_beats_auto_and_transfer(shared_data):
    """Reference = another crop of the same scene: lower ab error than either alternative."""
    pytest.importorskip("torch")
    import tinct
    from tinct.evaluate import gray_of
    from tinct.io import imread
    from tinct.match import transfer

    errs = []
    for path in sorted((shared_data / "val" / "sun_hays80").glob("*.jpg"))[:6]:
        rgb = imread(path)[..., :3]
        w = rgb.shape[1]
        target, ref = rgb[:, : int(w * 0.6)], rgb[:, int(w * 0.4):]
        gray = gray_of(target)
        truth = rgb_to_lab(target)[..., 1:]

        def err(x, truth=truth):
            return float(np.linalg.norm(rgb_to_lab(x)[..., 1:] - truth, axis=-1).mean())

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errs.append([err(tinct.colorize(gray, reference=ref)), err(tinct.colorize(gray)),
                         err(transfer(gray, ref, "mkl"))])
    with_ref, auto, mkl = np.mean(errs, axis=0)
    assert with_ref < auto and with_ref < mkl, (with_ref, auto, mkl)


def test_a_reference_replaces_the_whole_prior_so_balance_does_not_apply(photos):
    """reference_shift already divides out the training prior (gamma 0.5); the session must not
    divide it out a second time through predict_logits' balance."""
    from tinct.colorizer import predict_logits
    from tinct.guide import GuidedSession
    from tinct.guide.reference import reweight_by_reference

    gray, ref = photos["camera"][::4, ::4], photos["coffee"][::4, ::4]
    with_ref = GuidedSession(gray, reference=ref, balance=0.3)
    raw = predict_logits(with_ref.prep.light, balance=0.0)
    assert np.allclose(with_ref.logits, reweight_by_reference(raw, ref), atol=1e-4)
    plain = GuidedSession(gray, balance=0.3)  # without a reference it does
    assert not np.allclose(plain.logits, raw, atol=1e-2)
