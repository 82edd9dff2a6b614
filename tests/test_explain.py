"""Explanations (issue #7): entropy maps, suggestions, saliency, pictures, the report folder.

All with the shipped network (no mocks). Thresholds on model quality are regression
floors set below what the shipped weights achieve (numbers in docs/explain.md); the
structural checks hold for any network.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinct  # noqa: E402
from tinct.color.gamut import ab_bins, nearest_bin  # noqa: E402
from tinct.color.lab import lab_to_rgb, rgb_to_lab  # noqa: E402
from tinct.color.upsample import resize_plane  # noqa: E402
from tinct.colorizer import DEFAULT_BALANCE, prepare  # noqa: E402
from tinct.interpret import (  # noqa: E402
    apply_colormap,
    cache_info,
    clear_cache,
    entropy_bits,
    explain,
    render_heatmap,
    render_swatches,
    saliency,
    suggest_colors,
)
from tinct.interpret._distribution import cached_logits, log_probabilities  # noqa: E402
from tinct.interpret.report import FILES, SCHEMA, report_dict, run_explain, validate_report  # noqa: E402
from tinct.io import imread, imwrite  # noqa: E402

Q = len(ab_bins())

# Val photos for the quality checks (read-only, from the shared data set).
CALIBRATION_PHOTOS = ["sun_hays80/abbey_sun_asztnlqhlrvirneh.jpg", "imagenet_sample/n01530575_brambling.jpg",
                      "openimages_nips17/000b7d55b6184b08.jpg", "sun_hays80/badlands_sun_bvwwfrhtvupdxldb.jpg",
                      "debian_wallpapers/lomiri1604_Dragonfly_by_Bolly.jpg"]
FAST_TOP5_PHOTOS = ["sun_hays80/abbey_sun_asztnlqhlrvirneh.jpg", "imagenet_sample/n01530575_brambling.jpg",
                    "openimages_nips17/01fa4be27dd11b5d.jpg"]
CHROMATIC = 10.0  # C*ab at or above which a ground-truth pixel counts as chromatic


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def camera_explained(photos):
    return explain(photos["camera"], k=5)


def _read(shared_data, name: str) -> np.ndarray:
    return imread(shared_data / "val" / name)[..., :3]


# --------------------------------------------------------------------------------------
# Entropy


def test_entropy_bits_matches_the_definition():
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(Q, 4, 5)).astype(np.float32)
    p = np.exp(logits - logits.max(0)) / np.exp(logits - logits.max(0)).sum(0)
    np.testing.assert_allclose(entropy_bits(logits), entropy(p, base=2, axis=0), atol=1e-4)
    assert entropy_bits(np.zeros((Q, 1, 1)))[0, 0] == pytest.approx(math.log2(Q), abs=1e-4)
    peaked = np.full((Q, 1, 1), -50.0, np.float32)
    peaked[7] = 50.0
    assert entropy_bits(peaked)[0, 0] == pytest.approx(0.0, abs=1e-4)


def test_explain_shapes_ranges_and_consistency(photos, camera_explained):
    ex, gray = camera_explained, photos["camera"]
    h, w = gray.shape
    assert ex.entropy.shape == ex.normalised_entropy.shape == ex.labels.shape == (h, w)
    assert ex.entropy.dtype == ex.normalised_entropy.dtype == np.float32
    assert ex.entropy_lo.shape == cached_logits(gray).shape[1:]
    assert 0 <= ex.entropy.min() and ex.entropy.max() <= math.log2(Q) + 1e-5
    np.testing.assert_allclose(ex.normalised_entropy, ex.entropy / math.log2(Q), atol=1e-6)
    assert 0 <= ex.normalised_entropy.min() and ex.normalised_entropy.max() <= 1
    # The full-resolution map is the grid's entropy upsampled: same mean within rounding.
    assert abs(ex.entropy.mean() - ex.entropy_lo.mean()) < 0.05
    # The colorized result is exactly what tinct.colorize returns.
    assert np.array_equal(ex.colorized, tinct.colorize(gray))
    # Regions: 24-64 superpixels tiling the photo, each with k distinct candidates.
    light = prepare(gray).light
    assert 24 <= len(ex.regions) <= 64
    assert set(np.unique(ex.labels)) == {r.id for r in ex.regions} == set(range(len(ex.regions)))
    assert sum(r.area for r in ex.regions) == h * w
    for r in ex.regions:
        assert len(r.candidates) == 5 and len({c.hex for c in r.candidates}) == 5
        probs = [c.probability for c in r.candidates]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        x0, y0, x1, y1 = r.bbox
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and x0 <= r.centroid[0] < x1 and y0 <= r.centroid[1] < y1
        assert r.mean_l == pytest.approx(float(light[ex.labels == r.id].mean()), abs=1e-3)
        assert 0 <= r.entropy <= math.log2(Q)
    assert ex.saliency is not None and ex.saliency.shape == (h, w)
    assert ex.saliency_target.startswith("most uncertain region")


def test_entropy_is_lower_where_the_truth_gets_more_probability(shared_data):
    """Calibration, the property that makes the uncertainty map worth reading.

    On 5 val photos, per network cell: the entropy of the predicted distribution against
    the probability it gives the true colour (the ground truth's ab averaged over the
    cell, its nearest bin). Where the network is surer (lower entropy) the truth gets
    more probability: Spearman(entropy, -log p(truth)) > 0.1 pooled over all cells, and
    the lower-entropy half of the cells gives the truth a higher mean log-probability.
    Shipped weights: 0.20 (and 0.36 for a later checkpoint). Synthetic constant images
    do not make a robust test (see docs/explain.md): a flat gray photo gets *lower*
    entropy than real ones from the shipped network.
    """
    from scipy.stats import spearmanr

    ents, logps = [], []
    for name in CALIBRATION_PHOTOS:
        rgb = _read(shared_data, name)
        logits = cached_logits(rgb)
        _, h, w = logits.shape
        lab = rgb_to_lab(rgb)
        truth = nearest_bin(np.stack([resize_plane(lab[..., c], (h, w), resample="box") for c in (1, 2)], -1))
        logps.append(np.take_along_axis(log_probabilities(logits), truth[None], 0)[0].ravel())
        ents.append(entropy_bits(logits).ravel())
    ent, logp = np.concatenate(ents), np.concatenate(logps)
    assert spearmanr(ent, -logp).statistic > 0.1
    low = ent <= np.median(ent)
    assert logp[low].mean() > logp[~low].mean()


# --------------------------------------------------------------------------------------
# Suggestions


def test_suggestions_are_sorted_distinct_and_drawn_at_the_pixels_lightness(photos):
    rgb = photos["astronaut"]
    for x, y, radius in [(250, 60, 0), (100, 450, 0), (60, 100, 6)]:
        sug = suggest_colors(rgb, x, y, k=5, radius=radius)
        assert len(sug) == 5
        probs = [s.probability for s in sug]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert len({s.hex for s in sug}) == 5
        lab = rgb_to_lab(np.array([s.rgb for s in sug], np.uint8))
        gaps = np.linalg.norm(lab[:, None] - lab[None], axis=-1) + np.eye(5) * 99
        assert gaps.min() >= 2.3  # distinct to the eye, not just by one level
        bins = [b for s in sug for b in s.bins]
        assert len(bins) == len(set(bins))  # every bin counted once
        for s in sug:
            assert s.hex == "#{:02x}{:02x}{:02x}".format(*s.rgb)
            assert tuple(ab_bins()[s.bins[0]]) == s.ab
        if radius == 0:
            pixel_l = rgb_to_lab(rgb[y, x])[0]
            assert np.abs(rgb_to_lab(np.array([s.rgb for s in sug], np.uint8))[:, 0] - pixel_l).max() < 1.0
    assert len(suggest_colors(rgb, 10, 10, k=1)) == 1


def test_a_reference_palette_steers_the_suggestions(photos):
    gray = photos["coffee"]  # reduced to its lightness by suggest_colors
    green = np.zeros((64, 64, 3), np.uint8)
    green[..., 1] = np.linspace(60, 220, 64, dtype=np.uint8)[:, None]  # greens of every lightness
    green[..., 0] = green[..., 1] // 4
    for x, y, radius in [(150, 100, 0), (60, 40, 5)]:
        plain = suggest_colors(gray, x, y, k=5, radius=radius)
        steered = suggest_colors(gray, x, y, k=5, radius=radius, reference=green)
        mass = lambda sug: sum(s.probability for s in sug if s.ab[0] < -10)  # noqa: E731 - green bins
        assert mass(steered) > mass(plain) + 0.3, (plain, steered)
        assert steered[0].ab[0] < -10  # the most likely colour is now a green
        lab = rgb_to_lab(np.array([s.rgb for s in steered], np.uint8))
        assert min(np.linalg.norm(lab[i] - lab[j]) for i in range(len(lab)) for j in range(i)) >= 2.3


def test_black_pixels_get_one_suggestion_black(photos):
    """At L = 0 every ab bin is drawn black: one suggestion, holding all the mass."""
    black = np.zeros((64, 64), np.uint8)
    (only,) = suggest_colors(black, 3, 3)
    assert only.hex == "#000000" and only.probability == pytest.approx(1.0, abs=1e-5)


def test_suggestions_reject_bad_coordinates_and_arguments(photos):
    gray = photos["camera"]  # 512 x 512
    for x, y in [(-1, 0), (512, 0), (0, 512), (0, -0.5), (float("nan"), 3), ("a", 1)]:
        with pytest.raises(ValueError, match="x|y"):
            suggest_colors(gray, x, y)
    with pytest.raises(ValueError, match="k"):
        suggest_colors(gray, 1, 1, k=0)
    with pytest.raises(ValueError, match="radius"):
        suggest_colors(gray, 1, 1, radius=-1)


def test_suggestions_are_cached(photos):
    rgb = photos["coffee"].copy()
    rgb[0, 0] ^= 1  # a photo no other test has sent through the cache
    clear_cache()
    t0 = time.perf_counter()
    first = suggest_colors(rgb, 100, 100)
    t1 = time.perf_counter()
    second = suggest_colors(rgb, 100, 100)
    t2 = time.perf_counter()
    assert first == second
    assert (t1 - t0) >= 5 * (t2 - t1), f"first {t1 - t0:.4f} s, cached {t2 - t1:.4f} s"
    info = cache_info()
    assert info.misses == 1 and info.hits == 1


def _top5_rates(shared_data, names, pixels: int, seed: int) -> tuple[float, float, int, int]:
    """Share of sampled pixels whose true colour bin is among (or merged into) the top-5 suggestions."""
    rng = np.random.default_rng(seed)
    hits, chroma = [], []
    for name in names:
        rgb = _read(shared_data, name)
        h, w = rgb.shape[:2]
        lab = rgb_to_lab(rgb)
        for x, y in zip(rng.integers(0, w, pixels), rng.integers(0, h, pixels), strict=True):
            truth = int(nearest_bin(lab[y, x, 1:]))
            hits.append(any(truth in s.bins for s in suggest_colors(rgb, int(x), int(y), k=5)))
            chroma.append(float(np.hypot(*lab[y, x, 1:])))
        clear_cache()
    hits, chromatic = np.array(hits), np.array(chroma) >= CHROMATIC
    return float(hits.mean()), float(hits[chromatic].mean()), len(hits), int(chromatic.sum())


def test_top5_suggestions_hold_the_true_colour_fast(shared_data):
    """3 val photos x 40 pixels; shipped ensemble colornet-49ad7057: 0.96 (floor 0.65)."""
    rate, _, _, _ = _top5_rates(shared_data, FAST_TOP5_PHOTOS, 40, seed=1)
    assert rate >= 0.65


@pytest.mark.slow
def test_top5_suggestions_hold_the_true_colour_on_val(shared_data):
    """30 val photos x 20 pixels (the measurement in docs/explain.md).

    Shipped ensemble colornet-49ad7057: 0.915 of all 600 pixels, 0.887 of the 406 chromatic ones
    (C*ab >= 10).
    """
    files = sorted(p.relative_to(shared_data / "val").as_posix() for p in (shared_data / "val").rglob("*.jpg"))
    rng = np.random.default_rng(0)
    names = [files[i] for i in sorted(rng.choice(len(files), 30, replace=False))]
    rate, chromatic_rate, n, n_chromatic = _top5_rates(shared_data, names, 20, seed=0)
    assert n == 600 and n_chromatic > 300
    assert rate >= 0.75
    assert chromatic_rate >= 0.70


# --------------------------------------------------------------------------------------
# Saliency


def test_saliency_concentrates_near_its_target(photos):
    """On chelsea (451 x 300), a box on the cat's face: mean saliency inside the box is over
    twice the mean more than 100 px away from it (a map blind to the target scores about 1).

    Measured inside/far ratios depend on the network and the target bin: the shipped r3 + g1
    ensemble 3.3 at working size 160 and balance 0 (2.2 at 192; its members' gradients partly
    cancel), r3 alone 3.5, g1 alone 4.4, the g1 soup 3.0, the first shipped network (Lite0) over 3.
    At the default balance 0.05 the face's most likely bin is another one, explained less
    locally: 1.97.
    """
    rgb = photos["chelsea"]
    h, w = rgb.shape[:2]
    box = (120, 60, 220, 160)
    sal = saliency(rgb, box=box, balance=0.0)
    assert sal.shape == (h, w) and sal.dtype == np.float32
    assert 0 <= sal.min() and sal.max() <= 1 and sal.max() > 0.5
    yy, xx = np.mgrid[:h, :w]
    dx = np.maximum(np.maximum(box[0] - xx, xx - box[2]), 0)
    dy = np.maximum(np.maximum(box[1] - yy, yy - box[3]), 0)
    far = np.hypot(dx, dy) > 100
    inside = sal[box[1]:box[3], box[0]:box[2]].mean()
    assert inside > 2 * sal[far].mean()
    balanced = saliency(rgb, box=box)  # the default balance shifts the logits the gradient is taken of
    assert not np.allclose(balanced, sal, atol=1e-3)
    assert balanced[box[1]:box[3], box[0]:box[2]].mean() > 1.5 * balanced[far].mean()


def test_saliency_point_default_and_errors(photos):
    gray = photos["camera"]
    for kwargs in ({"point": (300, 100)}, {}, {"target": "chroma", "point": (10, 10)}):
        sal = saliency(gray, **kwargs)
        assert sal.shape == gray.shape and 0 <= sal.min() and sal.max() <= 1
    with pytest.raises(ValueError, match="box"):
        saliency(gray, box=(10, 10, 5, 20))
    with pytest.raises(ValueError, match="point"):
        saliency(gray, point=(600, 1))
    with pytest.raises(ValueError, match="at most one"):
        saliency(gray, point=(1, 1), box=(0, 0, 5, 5))
    with pytest.raises(ValueError, match="target"):
        saliency(gray, point=(1, 1), target="hue")


# --------------------------------------------------------------------------------------
# Pictures


def test_heatmap_blends_a_perceptual_colormap():
    values = np.linspace(0, 1, 12).reshape(3, 4)
    base = np.full((3, 4, 3), 200, np.uint8)
    out = render_heatmap(values, base)
    assert out.shape == (3, 4, 3) and out.dtype == np.uint8
    assert np.array_equal(render_heatmap(values, base, alpha=0.0), base)
    assert np.array_equal(render_heatmap(values, base[..., 0], alpha=1.0), apply_colormap(values))
    lum = apply_colormap(np.linspace(0, 1, 50)).astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(lum) > 0)  # perceptual maps rise monotonically in lightness
    with pytest.raises(ValueError):
        render_heatmap(values, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        render_heatmap(values, base, alpha=1.5)


def test_colormap_is_matplotlibs_magma():
    matplotlib = pytest.importorskip("matplotlib")
    t = np.linspace(0, 1, 256)
    want = np.rint(matplotlib.colormaps["magma"](t)[:, :3] * 255)
    assert np.abs(apply_colormap(t).astype(int) - want).max() <= 4


def test_swatches_show_every_candidate_colour(camera_explained):
    regions = camera_explained.regions[:6]
    img = render_swatches(regions)
    assert img.ndim == 3 and img.shape[-1] == 3 and img.dtype == np.uint8
    colours = {tuple(c) for c in img.reshape(-1, 3).tolist()}
    for r in regions:
        for c in r.candidates:
            assert tuple(c.rgb) in colours


# --------------------------------------------------------------------------------------
# The report folder


def test_run_explain_writes_every_file(photos, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    imwrite(src / "cam.png", photos["camera"])
    rgba = np.dstack([photos["chelsea"], np.full(photos["chelsea"].shape[:2], 200, np.uint8)])
    imwrite(src / "cat.png", rgba)
    (src / "sub").mkdir()
    imwrite(src / "sub" / "cam.png", photos["camera"][:200, :300])
    folders = run_explain([src], tmp_path / "out", k=3, model="default", size=128, point=(20, 30))
    assert [f.name for f in folders] == ["cam", "cat", "cam-2"]
    for folder in folders:
        for name in FILES.values():
            assert (folder / name).is_file(), name
        for name in ("uncertainty", "colorized", "candidates", "saliency"):
            image = imread(folder / FILES[name])
            assert image.ndim == 3 and image.size > 0
        data = json.loads((folder / FILES["json"]).read_text())
        validate_report(data)
        assert data["schema"] == SCHEMA and data["k"] == 3 and data["size"] == 128 and data["levels"] is False
        assert data["balance"] == DEFAULT_BALANCE
        assert data["point"]["x"] == 20 and len(data["point"]["suggestions"]) == 3
        assert data["saliency"]["target"] == "point (20, 30)"
        for region in data["regions"]:
            assert len(region["candidates"]) == 3 and region["candidates"][0]["hex"].startswith("#")
        assert "uncertainty" in (folder / FILES["readme"]).read_text()
    cat = imread(folders[1] / FILES["colorized"])
    assert cat.shape == rgba.shape and np.array_equal(cat[..., 3], rgba[..., 3])
    assert json.loads((folders[2] / FILES["json"]).read_text())["width"] == 300
    assert (tmp_path / "out" / FILES["index"]).is_file()


def test_run_explain_errors(photos, tmp_path):
    imwrite(tmp_path / "cam.png", photos["camera"])
    with pytest.raises(ValueError, match="outside"):
        run_explain([tmp_path / "cam.png"], tmp_path / "out", k=2, model="default", size=64, point=(9999, 0))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        run_explain([tmp_path / "empty"], tmp_path / "out2", k=2, model="default", size=64)
    with pytest.raises(ValueError, match="nothing-here"):
        run_explain([tmp_path / "nothing-here.png"], tmp_path / "out3", k=2, model="default", size=64)


def test_validate_report_rejects_a_broken_file(tmp_path):
    good = {"schema": SCHEMA, "source": "a.png", "width": 2, "height": 2, "model": "default", "weights": "w.pt",
            "size": 256, "temperature": 0.38, "k": 1, "num_bins": Q, "max_entropy_bits": math.log2(Q),
            "entropy_bits": {"mean": 1.0, "p10": 1.0, "p50": 1.0, "p90": 1.0},
            "regions": [{"id": 0, "centroid": [0.5, 0.5], "bbox": [0, 0, 2, 2], "area_fraction": 1.0, "mean_l": 50.0,
                         "entropy_bits": 1.0, "candidates": [{"hex": "#777777", "rgb": [119, 119, 119],
                                                              "ab": [0.0, 0.0], "probability": 0.5}]}],
            "point": None, "saliency": {"target": "mask", "box": [0, 0, 2, 2]}, "files": {}}
    validate_report(good)  # a report from before "levels" was recorded: absent means False
    validate_report({**good, "levels": True, "balance": 0.05})
    for broken in ({**good, "schema": "other"}, {k: v for k, v in good.items() if k != "regions"},
                   {**good, "width": "2"}, {**good, "levels": 1}, {**good, "balance": "0.05"},
                   {**good, "width": True}):
        with pytest.raises(ValueError):
            validate_report(broken)
    over = json.loads(json.dumps(good))
    over["regions"][0]["candidates"] *= 3
    with pytest.raises(ValueError, match="sum"):
        validate_report(over)


def test_levels_explain_a_faded_scan_as_the_original(photos):
    # with levels the network sees the same input for a photo and its fade (tinct.colorizer.stretch_levels),
    # so the uncertainty and the suggestions are the original's; without, the fade changes them
    light = rgb_to_lab(photos["astronaut"])[..., 0]

    def gray_of_l(lightness: np.ndarray) -> np.ndarray:  # a gray photo with exactly this Lab L
        return lab_to_rgb(np.stack([lightness, 0 * lightness, 0 * lightness], -1)).astype(np.float32)

    gray, faded = gray_of_l(light), gray_of_l(15 + 0.7 * light)
    original = explain(gray, with_saliency=False, levels=True)
    on = explain(faded, with_saliency=False, levels=True, point=(200, 100))
    off = explain(faded, with_saliency=False, point=(200, 100))
    assert np.abs(on.entropy - original.entropy).max() < 0.02
    assert on.levels and not off.levels
    assert report_dict(on, source="f.png", width=1, height=1)["levels"] is True
    assert np.abs(off.entropy - original.entropy).mean() > 0.05
    near = suggest_colors(gray, 200, 100, levels=True)
    assert [s.bins for s in on.point_suggestions] == [s.bins for s in near]


def test_a_photo_without_cues_is_more_uncertain_than_real_scenes(shared_data):
    """Ambiguous by construction: a flat mid-gray image says nothing about its colour.

    Shipped ensemble colornet-49ad7057: 5.41 bits on the flat image vs 3.85-4.82 on eight sun_hays80 scenes.
    """
    from tinct.evaluate import gray_of
    from tinct.io import imread

    flat = explain(np.full((192, 256), 119, np.uint8), with_saliency=False).entropy.mean()
    scenes = sorted((shared_data / "val" / "sun_hays80").glob("*.jpg"))[:4]
    for path in scenes:
        assert explain(gray_of(imread(path)), with_saliency=False).entropy.mean() < flat - 0.3, path
