"""kill -9 in the middle of a batch, then the same command again: nothing lost, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

N = 200


def test_kill_minus_9_then_rerun_finishes_the_batch(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N):
        Image.fromarray((rng.random((48, 64)) * 255).astype(np.uint8)).save(src / f"p{i:03d}.png")
    cmd = [sys.executable, "-m", "tinct", "colorize", str(src), "-o", str(out), "--size", "64", "-q",
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or len(list(out.glob("*.png"))) < 20):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(out.glob("*.png")))
    assert 0 < done_before < N, "the kill should land mid-batch"
    # rerun: finishes the rest, skips what exists
    res = subprocess.run(cmd[:-2] + ["--json", "-", "--workers", "2"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    outputs = sorted(out.glob("*.png"))
    assert len(outputs) == N
    assert not [p for p in out.iterdir() if p.suffix != ".png"], "no temp files left behind"
    for p in outputs:
        with Image.open(p) as im:
            im.load()  # every output decodes: none is half-written
            assert im.size == (64, 48)
    import json

    summary = json.loads(res.stdout)
    assert summary["skipped"] >= done_before - 2 and summary["done"] + summary["skipped"] == N
