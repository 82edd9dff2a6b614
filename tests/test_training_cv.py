"""Cross-validation folds (--folds) and fine-tuning the shipped weights (--from-pretrained)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import hashlib  # noqa: E402
from pathlib import Path  # noqa: E402

from conftest import tiny_ensemble, write_crops  # noqa: E402

from tinct.cli import main  # noqa: E402
from tinct.training.config import PRESETS, load_config  # noqa: E402
from tinct.training.data import _unit_hash, fold_of, split_of  # noqa: E402

SMOKE = ["--preset", "smoke", "--set", "pretrained=false", "--set", "max_steps=3", "--set", "threads=1", "--quiet"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, photos):
    return write_crops(tmp_path_factory.mktemp("cv_data"), photos, seed=2, per_photo=3, ext=".png")


def test_fold_of_is_a_stable_partition(tiny_data, tmp_path):
    files = sorted(tiny_data.glob("*.png"))
    folds = [fold_of(f, 3) for f in files]
    assert set(folds) <= {0, 1, 2} and folds == [fold_of(f, 3) for f in files]
    moved = tmp_path / "renamed.png"
    moved.write_bytes(files[0].read_bytes())
    assert fold_of(moved, 3) == folds[0]  # by content, not by name
    # fold 0 of k is the holdout of split_of with fraction 1/k
    assert all((fold_of(f, 4) == 0) == (split_of(f, 0.25) == "holdout") for f in files)
    with pytest.raises(ValueError):
        fold_of(files[0], 1)


def test_each_file_is_hashed_once_until_it_changes(tmp_path, monkeypatch):
    files = [tmp_path / f"{i}.jpg" for i in range(5)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 100)
    reads = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self.name) or real(self))
    splits = [split_of(f, 0.5) for f in files]  # the training split ...
    assert [split_of(f, 0.5) for f in files] == splits  # ... the holdout's ...
    folds = [fold_of(f, 3) for f in files]  # ... cross-validation's
    assert sorted(reads) == sorted(f.name for f in files) and len(folds) == 5
    files[0].write_bytes(b"edited")  # new bytes, new size: hashed again, to the new bytes' value
    want = int.from_bytes(hashlib.sha1(b"edited").digest()[:4], "big") / 2**32
    assert _unit_hash(files[0]) == want and reads.count(files[0].name) == 2
    assert [split_of(f, 0.5) for f in files] == [split_of(f.read_bytes(), 0.5) for f in files]  # path ≡ bytes


def test_folds_train_k_runs_and_summarise(tiny_data, tmp_path, capsys):
    run = tmp_path / "cv"
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "2", *SMOKE]) == 0
    cv = json.loads((run / "cv_summary.json").read_text())
    assert cv["folds"] == 2 and [f["fold"] for f in cv["per_fold"]] == [0, 1]
    for key in ("holdout_loss", "holdout_ab_err"):
        values = [f[key] for f in cv["per_fold"]]
        assert cv[key]["mean"] == pytest.approx(np.mean(values))
        assert cv[key]["std"] == pytest.approx(np.std(values, ddof=1))
    # the two holdouts are the two folds: disjoint, and together every photo
    n = sum(f["holdout_photos"] for f in cv["per_fold"])
    assert n == 12 and all(f["train_photos"] + f["holdout_photos"] == 12 for f in cv["per_fold"])
    for i in range(2):
        assert (run / f"fold-{i}" / "best.pt").exists()
    assert "holdout_ab_err" in capsys.readouterr().out
    # --resume keeps finished folds
    before = (run / "fold-0" / "metrics.jsonl").read_text()
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "2", "--resume", "--quiet"]) == 0
    assert (run / "fold-0" / "metrics.jsonl").read_text() == before
    # ... and extends them when asked for more steps (they were kept as "finished" before)
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "2", "--resume", "--set", "max_steps=8",
                 "--quiet"]) == 0
    assert all(json.loads((run / f"fold-{i}" / "summary.json").read_text())["step"] == 8 for i in range(2))
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "1", "--quiet"]) == 2


def test_finetune_preset_and_from_pretrained(tiny_data, tmp_path):
    cfg = load_config(preset=["finetune", "smoke"])
    assert cfg.init_from == "default" and cfg.lr == 3e-4 and cfg.crop == 64
    assert cfg.warmup_steps == PRESETS["smoke"]["warmup_steps"]  # a later preset wins
    assert load_config(preset="finetune").warmup_steps == 50
    run = tmp_path / "ft"
    assert main(["train", str(tiny_data), "--out", str(run), "--from-pretrained", *SMOKE,
                 "--set", "freeze_encoder=true", "--set", "holdout_fraction=0.3"]) == 0
    assert json.loads((run / "config.json").read_text())["init_from"] == "default"
    from tinct.models._weights import load_model

    shipped = load_model("default").state_dict()
    tuned = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    enc = [k for k in tuned if ".encoder." in f".{k}"]  # "encoder." or, in an ensemble, "members.i.encoder."
    dec = [k for k in tuned if ".encoder." not in f".{k}" and tuned[k].is_floating_point()]
    # frozen: the shipped encoder, BatchNorm statistics included
    assert enc and all(torch.equal(tuned[k], shipped[k]) for k in enc)
    assert any(not torch.equal(tuned[k], shipped[k]) for k in dec)  # the decoder learnt


def test_finetune_an_ensemble_trains_each_member_and_exports_an_ensemble(tiny_data, tmp_path, capsys):
    from tinct.models._weights import load_model
    from tinct.models.colornet import ColorEnsemble

    members, start = tiny_ensemble(tmp_path)
    # a single network must match the config's architecture (an ensemble keeps its members')
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "bad"), *SMOKE,
                 "--set", f"init_from={members[0]}"]) == 2
    assert "lite0 width 32/16, this config asks for lite0 width 128/96" in capsys.readouterr().err
    run = tmp_path / "ft"
    args = ["train", str(tiny_data), "--out", str(run), *SMOKE, "--set", f"init_from={start}",
            "--set", "freeze_encoder=true", "--set", "holdout_fraction=0.3"]
    assert main(args) == 0
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert [m["width"] for m in ckpt["net_config"]["members"]] == [32, 32]
    before = load_model(str(start)).state_dict()
    for i in (0, 1):
        keys = [k for k in ckpt["model"] if k.startswith(f"members.{i}.") and ckpt["model"][k].is_floating_point()]
        enc = [k for k in keys if k.startswith(f"members.{i}.encoder.")]
        assert enc and all(torch.equal(ckpt["model"][k], before[k].float()) for k in enc)  # frozen, fp16-exact
        assert any(not torch.equal(ckpt["model"][k], before[k].float()) for k in keys if k not in enc)
    # a resumed fine-tune rebuilds the ensemble from its checkpoint; the export is an ensemble
    assert main(["train", str(tiny_data), "--out", str(run), "--resume", "--quiet"]) == 0
    assert main(["export", str(run / "best.pt"), "-o", str(tmp_path / "w")]) == 0
    (weights,) = (tmp_path / "w").glob("colornet-*.pt")
    assert isinstance(load_model(str(weights)), ColorEnsemble)
