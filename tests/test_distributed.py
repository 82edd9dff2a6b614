"""Dask batch colorization: same bytes as a local run, reruns skip, a bad file is reported."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

distributed = pytest.importorskip("distributed")
torch = pytest.importorskip("torch")

from tinct.batch import plan_jobs  # noqa: E402
from tinct.cli import main  # noqa: E402
from tinct.colorizer import DEFAULT_TEMPERATURE  # noqa: E402
from tinct.distributed import run_distributed  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def gray_folder(tmp_path, photos):
    src = tmp_path / "scans"
    (src / "sub").mkdir(parents=True)
    gray = {name: np.asarray(Image.fromarray(photos[name]).convert("L")) for name in ("astronaut", "coffee")}
    Image.fromarray(photos["camera"][::6, ::6]).save(src / "camera.png")
    Image.fromarray(gray["astronaut"][::6, ::5]).save(src / "astronaut.jpg", quality=90)
    Image.fromarray(gray["coffee"][::5, ::5]).save(src / "sub" / "coffee.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return src


def test_cluster_matches_local_run_and_reruns_skip(gray_folder, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    # the local reference: the CLI's own thread pool (exit 1: broken.jpg fails)
    assert main(["colorize", str(gray_folder), "-o", str(local), "--size", "64", "--workers", "2", "-q"]) == 1
    torch.set_num_threads(1)
    options = {"model": "default", "size": 64, "temperature": DEFAULT_TEMPERATURE, "saturation": 1.0,
               "quality": 95}
    jobs = plan_jobs([str(gray_folder)], remote)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        report = run_distributed(jobs, options, cluster.scheduler_address)
        assert sorted(report.done) == sorted(str(remote / p) for p in ("camera.png", "astronaut.jpg",
                                                                         "sub/coffee.png"))
        assert len(report.failed) == 1 and "broken.jpg" in report.failed[0][0]
        for out in report.done:  # byte-identical to the local run
            rel = out[len(str(remote)) + 1:]
            assert (remote / rel).read_bytes() == (local / rel).read_bytes(), rel

        def model_loads() -> int:  # runs in a worker (a nested function is sent by value)
            from tinct.models._weights import load_model

            return load_model.cache_info().misses

        with distributed.Client(cluster) as client:  # every worker loaded the network once
            assert sorted(client.run(model_loads).values()) == [1, 1]
        # a rerun skips the finished photos and retries only the broken one
        again = run_distributed(jobs, options, cluster.scheduler_address)
        assert len(again.skipped) == 3 and not again.done and len(again.failed) == 1


def test_options_and_scheduler_are_checked(gray_folder, tmp_path):
    jobs = plan_jobs([str(gray_folder)], tmp_path / "o")
    with pytest.raises(ValueError, match="unknown options"):
        run_distributed(jobs, {"hints": []}, "local:1")
    with pytest.raises(ValueError, match="local:N"):
        run_distributed(jobs, {}, "local:many")
