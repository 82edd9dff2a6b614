"""Training: config, LR schedule, loss, a smoke run, exact resume, export."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from conftest import write_crops  # noqa: E402

from tinct.cli import main  # noqa: E402
from tinct.color.gamut import ab_bins, soft_encode  # noqa: E402
from tinct.training.config import TrainConfig, load_config  # noqa: E402
from tinct.training.loop import get_lr  # noqa: E402
from tinct.training.loss import rebalanced_soft_ce  # noqa: E402


def test_lr_warmup_then_cosine():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    lrs = [get_lr(s, cfg) for s in range(111)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[60] == pytest.approx(1e-4 + 0.5 * 9e-4) and lrs[110] == pytest.approx(1e-4)


def test_config_overrides_and_errors(tmp_path):
    cfg = load_config(preset="smoke", overrides=["lr=0.01", "group_weights={\"a\": 0.5}", "pretrained=false"])
    assert cfg.lr == 0.01 and cfg.group_weights == {"a": 0.5} and cfg.pretrained is False and cfg.crop == 64
    toml = tmp_path / "c.toml"
    toml.write_text("batch_size = 3\nmax_steps = 7\n")
    assert load_config(toml).batch_size == 3
    for bad in (["nope=1"], ["lr=fast"], ["pretrained=1"], ["batch_size"]):
        with pytest.raises(ValueError):
            load_config(overrides=bad)


@pytest.mark.parametrize(("bad", "message"), [
    (["eval_every=0"], "eval_every must be a positive integer, got 0"),
    (["batch_size=-2"], "batch_size must be a positive integer"),
    (["dropout=1.0"], "dropout must be in [0.0, 0.99]"),
    (["lr=0"], "lr must be in (0.0, 1.0], got 0.0"),
    (["holdout_fraction=1.0"], "holdout_fraction must be in (0.0, 0.99]"),
    (["workers=-1"], "workers must be >= 0"),
    (["lr=Infinity"], "lr must be in (0.0, 1.0], got inf"),
    (["max_minutes=NaN"], "max_minutes must be >= 0 and finite, got nan"),
    (["crop=66"], "crop must be a multiple of 4"),
    (["rotate_deg=80"], "rotate_deg must be in [0.0, 30.0]"),
    (['group_weights={"pets": -0.5}'], "group_weights['pets'] must be a number >= 0"),
    (["eval_every=\"5\""], "eval_every takes type int, got '5'"),
])
def test_config_out_of_range_is_refused_when_made(bad, message, tmp_path):
    # these used to fail minutes into a run (modulo by zero at the first eval, an empty batch)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_config(overrides=bad)
    toml = tmp_path / "c.toml"
    toml.write_text("eval_every = 0\n")
    with pytest.raises(ValueError, match="c.toml: training config: eval_every must be a positive integer"):
        load_config(toml)
    toml.write_text('eval_every = "5"\nlr = 1\n')  # a TOML file is checked like --set (was a TypeError)
    with pytest.raises(ValueError, match="eval_every takes type int"):
        load_config(toml)
    toml.write_text("lr = 1\n")
    assert load_config(toml).lr == 1.0 and isinstance(load_config(toml).lr, float)
    for preset in ("smoke", "cpu", "finetune"):  # every shipped preset is itself valid
        load_config(preset=preset)


def test_soft_ce_is_smallest_for_the_right_colour():
    ab = np.array([[[[30.0, -20.0]]]], np.float32)  # (B, H, W, 2)
    idx, w = soft_encode(ab)
    right = torch.full((1, len(ab_bins()), 1, 1), -10.0)
    right[0, idx[0, 0, 0, 0]] = 10.0
    wrong = torch.full_like(right, -10.0)
    wrong[0, (idx[0, 0, 0, 0] + 50) % len(ab_bins())] = 10.0
    ti, tw = torch.from_numpy(idx), torch.from_numpy(w)
    assert rebalanced_soft_ce(right, ti, tw) < rebalanced_soft_ce(wrong, ti, tw)
    weights = torch.ones(len(ab_bins())) * 2
    assert rebalanced_soft_ce(right, ti, tw, weights) == pytest.approx(2 * rebalanced_soft_ce(right, ti, tw).item())


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, photos) -> object:
    root = write_crops(tmp_path_factory.mktemp("train"), photos, seed=0, per_photo=4, ext=".jpg")
    Image.fromarray(photos["camera"][:96, :96]).save(root / "gray.png")  # skipped: grayscale
    Image.fromarray(photos["coffee"][:20, :20]).save(root / "tiny.png")  # skipped: too small
    return root


def _weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_smoke_run_then_exact_resume(tiny_data, tmp_path):
    common = ["train", str(tiny_data), "--preset", "smoke", "--set", "pretrained=false",
              "--set", "holdout_fraction=0.25", "--quiet"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main([*common, "--out", str(straight)]) == 0
    for f in ("checkpoint.pt", "best.pt", "metrics.jsonl", "loss.png", "config.json", "summary.json"):
        assert (straight / f).exists(), f
    summary = json.loads((straight / "summary.json").read_text())
    assert summary["step"] == 6 and summary["skipped"]["gray"] == 1 and summary["skipped"]["tiny"] == 1
    assert summary["device"] == ("cuda" if torch.cuda.is_available() else "cpu")  # the model card says where
    rows = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert train_rows and all(r["device"] == summary["device"] for r in train_rows)  # each resume records its own
    # holdout.txt lists the held-out photos (absolute paths); tinct evaluate scores a list file
    from tinct.training.data import split_of

    held = (straight / "holdout.txt").read_text().splitlines()
    assert len(held) == summary["holdout_photos"] >= 1
    assert all(Path(h).is_absolute() and split_of(Path(h), 0.25) == "holdout" for h in held)
    mine = tmp_path / "mine.txt"  # relative lines resolve against the list's folder; comments skipped
    mine.write_text("# two of the training folder's photos\n\n" + "".join(
        f"{os.path.relpath(h, tmp_path)}\n" for h in held[:2]))
    for listed, n in ((straight / "holdout.txt", len(held)), (mine, min(2, len(held)))):
        assert main(["evaluate", str(listed), "-m", "gray", "-m", "mean-colour", "--size", "64", "--no-semantic",
                     "--quiet", "--json", str(tmp_path / "ev.json")]) == 0
        assert json.loads((tmp_path / "ev.json").read_text())["config"]["photos"] == n
    # the same run in two halves: stop at step 3, resume to 6 -> identical weights. (Steps 0-2 are warmup
    # and the cosine's first step, where 3- and 6-step schedules agree; raising max_steps later in a run
    # stretches the schedule and changes the weights, as docs/training.md says.)
    assert main([*common, "--out", str(split), "--set", "max_steps=3"]) == 0
    assert main(["train", str(tiny_data), "--out", str(split), "--resume", "--set", "max_steps=6", "--quiet"]) == 0
    a, b = _weights(straight / "checkpoint.pt"), _weights(split / "checkpoint.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the stricter case: the same max_steps throughout, stopped after its first step (by a time budget,
    # as a signal would) and resumed: the optimizer, the data order and the schedule all carry over
    budget = tmp_path / "budget"
    assert main([*common, "--out", str(budget), "--set", "max_minutes=0.000001"]) == 0
    assert json.loads((budget / "summary.json").read_text())["step"] == 1
    assert main(["train", str(tiny_data), "--out", str(budget), "--resume", "--set", "max_minutes=0", "--quiet"]) == 0
    assert json.loads((budget / "summary.json").read_text())["step"] == 6
    c = _weights(budget / "checkpoint.pt")
    assert all(torch.equal(a[k], c[k]) for k in a)
    # a resumed run may not change what it learns
    assert main(["train", str(tiny_data), "--out", str(split), "--resume", "--set", "lr=1"]) == 2
    # the same command again without --resume would replace the run: refused, nothing touched
    before = {f: (straight / f).read_bytes() for f in ("checkpoint.pt", "config.json", "metrics.jsonl")}
    assert main([*common, "--out", str(straight), "--set", "max_steps=2"]) == 2
    assert all((straight / f).read_bytes() == b for f, b in before.items())


def test_settings_refused_before_the_photos_are_read(tiny_data, tmp_path, capsys):
    from tinct.models._efficientnet_lite import VARIANTS
    from tinct.training.config import ENCODERS

    assert set(ENCODERS) == set(VARIANTS)
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "r"), "--set", "encoder=lite9"]) == 2
    assert "encoder must be one of lite0, lite1, lite2, got 'lite9'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("max_steps = = 3\n")
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "r"), "--config", str(bad)]) == 2
    assert f"{bad}: not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "r" / "config.json").exists()


def test_batches_depend_on_seed_and_step_alone_and_workers_make_the_same(tiny_data):
    from tinct.training.data import batch_stream, load_photos, training_batch

    kw = dict(split="train", holdout_fraction=0.25, load_short=96, min_side=64)
    photos = load_photos(tiny_data, **kw)
    threaded = load_photos(tiny_data, **kw, workers=3)
    assert len(photos) >= 8 and photos.paths == threaded.paths and photos.skipped == threaded.skipped
    assert all(np.array_equal(a, b) for a, b in zip(photos.images, threaded.images, strict=True))
    cfg = TrainConfig(crop=64, batch_size=6, seed=3)
    a, b, c = training_batch(photos, 5, cfg), training_batch(photos, 5, cfg), training_batch(photos, 6, cfg)
    assert np.array_equal(a.light, b.light) and np.array_equal(a.target_idx, b.target_idx)
    assert not np.array_equal(a.light, c.light)
    # DDP: two ranks' slices are the global batch's alternate crops
    r1 = training_batch(photos, 5, cfg, rank=1, world_size=2)
    assert np.array_equal(r1.light, a.light[1::2])
    # worker processes make the batches of steps 4, 5, 6 in order; only the dtypes are compacted
    inline = batch_stream(photos, cfg, start=4)
    pooled = batch_stream(photos, TrainConfig(crop=64, batch_size=6, seed=3, workers=2), start=4)
    for _ in range(3):
        x, y = next(inline), next(pooled)
        assert y.light.dtype == np.float16 and y.target_idx.dtype == np.int16
        assert np.abs(x.light - y.light).max() < 0.05
        assert np.array_equal(x.target_idx, y.target_idx)
        assert np.abs(x.target_w - y.target_w).max() < 1e-3
    pooled.close()


_OPEN_AND_CLOSE = """
import numpy as np
from tinct.training.config import TrainConfig
from tinct.training.data import PhotoSet, batch_stream
rng = np.random.default_rng(0)
photos = PhotoSet([rng.integers(0, 255, (96, 120, 3), dtype=np.uint8) for _ in range(8)],
                  [str(i) for i in range(8)], np.full(8, 1 / 8))
for _ in range(80):  # closed with batches still in flight
    stream = batch_stream(photos, TrainConfig(crop=64, batch_size=6, workers=2))
    for _ in range(3):
        next(stream)
    stream.close()
print("closed 80")
"""


def test_closing_a_worker_stream_never_hangs():
    # Regression: the stream used to leave its pool by Pool.terminate(), which hung the whole
    # test run about once in 30-100 closes (CPython #78178); 80 closes in a subprocess with a
    # deadline turn such a hang into a failure.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _OPEN_AND_CLOSE], capture_output=True, text=True, timeout=240,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "closed 80"


def test_device_auto_is_the_cpu_here_and_a_missing_gpu_is_a_clear_error(tiny_data, tmp_path, capsys):
    from tinct.training.loop import _resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert _resolve_device("auto") == "cpu"
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "r"), "--preset", "smoke",
                 "--set", "pretrained=false", "--set", "holdout_fraction=0.25", "--set", "device=cuda",
                 "--quiet"]) == 2
    assert "torch sees no GPU" in capsys.readouterr().err


def test_export_and_colorize_with_the_export(tiny_data, tmp_path, photos):
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), "--preset", "smoke", "--set", "pretrained=false",
                 "--set", "holdout_fraction=0.25", "--quiet"]) == 0
    assert main(["export", str(run / "best.pt"), "-o", str(tmp_path / "w")]) == 0
    (weights,) = (tmp_path / "w").glob("colornet-*.pt")
    Image.fromarray(photos["camera"][:64, :64]).save(tmp_path / "g.png")
    assert main(["colorize", str(tmp_path / "g.png"), "-o", str(tmp_path / "o"), "--model", str(weights), "-q"]) == 0
    assert Image.open(tmp_path / "o" / "g.png").size == (64, 64)
    # two files make one ensemble; a network ensembled with itself colorizes as the network does
    assert main(["export", str(run / "best.pt"), str(weights), "-o", str(tmp_path / "e")]) == 0
    (ensemble,) = (tmp_path / "e").glob("colornet-*.pt")
    assert main(["colorize", str(tmp_path / "g.png"), "-o", str(tmp_path / "oe"), "--model", str(ensemble),
                 "-q"]) == 0
    single, both = (np.asarray(Image.open(tmp_path / d / "g.png"), np.int16) for d in ("o", "oe"))
    assert single.shape == both.shape and np.abs(single - both).max() <= 1


def test_a_folder_too_small_to_train_on_says_what_it_found(tmp_path, photos, caplog, capsys):
    root = tmp_path / "few"
    (root / "city").mkdir(parents=True)
    for i in range(3):  # grayscale: skipped, and counted over both splits
        Image.fromarray(photos["camera"][i * 100:i * 100 + 96, :96]).save(root / "city" / f"g{i}.png")
    Image.fromarray(photos["coffee"][:96, :96]).save(root / "city" / "c.png")
    assert main(["train", str(root), "--out", str(tmp_path / "r"), "--preset", "smoke",
                 "--set", "pretrained=false"]) == 2
    err = capsys.readouterr().err
    assert "need at least 2 training photos and 1 held-out photo" in err and "'gray': 3" in err
    # enough photos, a typo in a group name, a tiny holdout: warned, and the run goes on
    for i, name in enumerate(("astronaut", "chelsea", "coffee", "rocket")):
        Image.fromarray(photos[name][:96, :96]).save(root / "city" / f"p{i}.png")
    with caplog.at_level("WARNING", logger="tinct"):
        assert main(["train", str(root), "--out", str(tmp_path / "r2"), "--preset", "smoke", "--set",
                     "pretrained=false", "--set", "holdout_fraction=0.3", "--set", 'group_weights={"ctiy": 0.5}',
                     "--quiet"]) == 0
    assert "group_weights names ['ctiy'], not a folder of" in caplog.text and "(its groups: city)" in caplog.text
    assert "held-out photos: early stopping" in caplog.text
