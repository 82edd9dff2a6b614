"""Data-parallel training: two ranks under torchrun on CPU (gloo) stay in sync and learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed")

from conftest import free_port, tiny_ensemble, write_crops  # noqa: E402

from tinct.training import ddp  # noqa: E402


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, photos):
    return write_crops(tmp_path_factory.mktemp("ddp_data"), photos, seed=1, per_photo=3, ext=".png")


def test_helpers_are_no_ops_in_one_process(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    assert not ddp.launched() and ddp.init() is ddp.SINGLE
    one = ddp.SINGLE
    assert one.main and not one.active
    assert ddp.any_rank(True, one) and not ddp.any_rank(False, one)
    assert ddp.mean_over_ranks(2.5, one) == 2.5 and ddp.weights_in_sync(object(), one)
    two = ddp.Dist(rank=1, world_size=2, backend="gloo")
    with pytest.raises(ValueError, match="multiple"):
        ddp.check_batch_size(5, two)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    assert ddp.state_digest(a) != ddp.state_digest(b)
    b.load_state_dict(a.state_dict())
    assert ddp.state_digest(a) == ddp.state_digest(b)


def test_two_ranks_stay_in_sync_and_the_loss_falls(tiny_data, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={free_port()}",
           "-m", "tinct", "train", str(tiny_data), "--out", str(run), "--preset", "smoke", "--quiet"]
    for kv in ("pretrained=false", "crop=32", "load_short=48", "min_side=32", "batch_size=16", "max_steps=30",
               "lr=0.003", "warmup_steps=3", "eval_every=10", "checkpoint_every=10", "holdout_fraction=0.25",
               "threads=1"):
        cmd += ["--set", kv]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("trained to step 30") == 1  # one voice: rank 0's
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 30
    assert summary["ddp"] == {"world_size": 2, "backend": "gloo", "weights_in_sync": True}
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if r["kind"] == "train"]
    assert len(losses) == 30  # written once, by rank 0
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.2, losses
    holdout = [r["holdout_loss"] for r in rows if r["kind"] == "eval"]
    assert holdout[-1] < holdout[0], holdout
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [10, 20, 30]
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 30 and not any(k.startswith("module.") for k in state["model"])


def test_two_ranks_fine_tune_an_ensemble_with_frozen_encoders(tiny_data, tmp_path):
    """DDP must be set up after freezing: it expects a gradient for every parameter it was given."""
    from tinct.models._weights import load_model

    _, start = tiny_ensemble(tmp_path)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={free_port()}",
           "-m", "tinct", "train", str(tiny_data), "--out", str(run), "--preset", "smoke", "--quiet"]
    for kv in (f"init_from={start}", "freeze_encoder=true", "dropout=0.3", "crop=32", "load_short=48",
               "min_side=32", "batch_size=4", "max_steps=4", "eval_every=2", "checkpoint_every=2",
               "holdout_fraction=0.25", "threads=1"):
        cmd += ["--set", kv]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((run / "summary.json").read_text())["ddp"]["weights_in_sync"] is True
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert [m["dropout"] for m in state["net_config"]["members"]] == [0.3, 0.3]  # this run's dropout
    before = load_model(str(start)).state_dict()
    enc = [k for k in state["model"] if ".encoder." in k and state["model"][k].is_floating_point()]
    assert enc and all(torch.equal(state["model"][k], before[k].float()) for k in enc)
