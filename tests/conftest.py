"""Shared fixtures: small real photos (scikit-image's samples, the shared data set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """The ONNX export cache in a temp folder, not the user's home (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TINCT_CACHE", str(tmp_path_factory.mktemp("tinct-cache")))
        yield


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    import skimage.data

    return {n: getattr(skimage.data, n)() for n in ("camera", "astronaut", "coffee", "chelsea", "rocket")}


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``): the
    small batches of the tests run no slower, and a machine that is also training stays usable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (servers, torchrun)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every regular file below ``root``, to show inputs are byte-identical after a run
    (symlinks are not followed: they may dangle or loop)."""
    import hashlib

    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def write_crops(root: Path, photos: dict[str, np.ndarray], *, seed: int, per_photo: int, ext: str) -> Path:
    """Random 96 x 96 crops of the colour samples saved into ``root``: a tiny training set."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        img = photos[name]
        for k in range(per_photo):
            y, x = rng.integers(0, img.shape[0] - 96), rng.integers(0, img.shape[1] - 96)
            Image.fromarray(img[y:y + 96, x:x + 96]).save(root / f"{name}{k}{ext}")
    return root


def tiny_net(seed: int, encoder: str = "lite0"):
    """A small random ColorNet (width 32/16) in eval mode, the same for the same seed."""
    import torch

    from tinct.models.colornet import ColorNet, ColorNetConfig

    torch.manual_seed(seed)
    return ColorNet(ColorNetConfig(encoder=encoder, width=32, width_fine=16)).eval()


def tiny_ensemble(folder: Path, encoders: tuple[str, ...] = ("lite0", "lite0")) -> tuple[list[Path], Path]:
    """Weight files of :func:`tiny_net` s (seeds 0, 1, ...) and of their ensemble."""
    from tinct.models._weights import export_checkpoints, save_weights

    members = [save_weights(tiny_net(seed, encoder), folder / f"m{seed}") for seed, encoder in enumerate(encoders)]
    return members, export_checkpoints(members, folder / "ensemble")
