"""ONNX export and the onnxruntime backend: parity with torch, the export cache, the CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import torch  # noqa: E402
from conftest import tiny_ensemble  # noqa: E402

import tinct  # noqa: E402
from tinct import colorizer  # noqa: E402
from tinct.cli import main  # noqa: E402
from tinct.colorizer import predict_logits, prepare, resolve_backend, working_shape  # noqa: E402
from tinct.models import _onnx  # noqa: E402
from tinct.models._weights import load_model, save_weights, sha256_of, shipped_weights  # noqa: E402

TOL_LOGITS = 1e-3


@pytest.fixture(autouse=True)
def one_thread_and_private_cache(tmp_path_factory, monkeypatch):
    """One torch thread (so one ORT thread) and a cache folder of this test session's own."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("TINCT_CACHE", str(tmp_path_factory.getbasetemp() / "tinct-cache"))
    monkeypatch.delenv("TINCT_BACKEND", raising=False)
    _onnx.clear_cache()
    yield
    _onnx.clear_cache()
    colorizer._ONNX_FAILED.clear()
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def val_photos() -> list[np.ndarray]:
    """The first two photos of ../shared/data/val by sorted path, as 8-bit gray."""
    from PIL import Image

    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "val"
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:2]
    if len(files) < 2:
        pytest.skip(f"validation photos not found in {root}")
    return [np.asarray(Image.open(p).convert("L")) for p in files]


# ---------------------------------------------------------------- parity
@pytest.mark.parametrize("size", [192, 256])
def test_logits_match_torch_on_real_photos(val_photos, size):
    shapes = set()
    for gray in val_photos:
        light = prepare(gray).light
        ref = predict_logits(light, size=size, backend="torch")
        got = predict_logits(light, size=size, backend="onnx")
        assert got.dtype == np.float32 and got.shape == ref.shape
        assert np.abs(got - ref).max() < TOL_LOGITS
        shapes.add(working_shape(*light.shape, size))
    assert any(h != w for h, w in shapes), "at least one working shape is non-square"


def test_colorized_photo_within_one_level(val_photos, monkeypatch):
    gray = val_photos[0]
    monkeypatch.setenv("TINCT_BACKEND", "torch")
    ref = tinct.colorize(gray)
    monkeypatch.setenv("TINCT_BACKEND", "onnx")
    got = tinct.colorize(gray)
    assert got.dtype == np.uint8 and got.shape == ref.shape == (*gray.shape, 3)
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_batch_and_free_sizes_match_torch():
    session = _onnx.onnx_session()
    rng = np.random.default_rng(0)
    net = load_model()
    for shape in [(2, 1, 128, 224), (3, 1, 96, 96), (1, 1, 100, 150)]:  # batch > 1, non-multiples of 32
        light = (rng.random(shape) * 100).astype(np.float32)
        with torch.inference_mode():
            ref = net(torch.from_numpy(light)).numpy()
        got = _onnx.run(session, light)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < TOL_LOGITS


def test_an_ensemble_exports_and_matches_torch(tmp_path):
    _, ensemble = tiny_ensemble(tmp_path, ("lite0", "lite2"))
    weights = str(ensemble)
    light = (np.random.default_rng(0).random((100, 150)) * 100).astype(np.float32)
    ref = predict_logits(light, model=weights, size=96, backend="torch")
    got = predict_logits(light, model=weights, size=96, backend="onnx")
    assert got.shape == ref.shape == (262, 24, 32)  # working shape 96 x 128, logits at 1/4
    assert np.abs(got - ref).max() < TOL_LOGITS
    total = np.exp(got.astype(np.float64)).sum(axis=0)  # geometric mean of distributions: sums to <= 1 (AM-GM)
    assert 0 < total.min() and total.max() <= 1 + 1e-5


# ---------------------------------------------------------------- backend choice and threads
def test_backend_resolution(monkeypatch):
    assert resolve_backend("torch") == "torch"
    assert resolve_backend("onnx") == "onnx"
    assert resolve_backend("auto") == ("onnx" if colorizer.AUTO_PREFERS_ONNX else "torch")
    monkeypatch.setenv("TINCT_BACKEND", "torch")
    assert resolve_backend() == "torch"
    assert resolve_backend("onnx") == "onnx"  # an explicit argument wins over the environment
    monkeypatch.setenv("TINCT_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="TINCT_BACKEND"):
        resolve_backend()
    with pytest.raises(ValueError, match="backend must be"):
        resolve_backend("tf")


def test_session_threads_follow_torch():
    assert _onnx.onnx_session().get_session_options().intra_op_num_threads == 1
    opts = _onnx.onnx_session(threads=2).get_session_options()
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (2, 1)
    assert opts.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL


def test_failed_export_falls_back_to_torch_in_auto_mode(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setenv("TINCT_CACHE", str(tmp_path))  # empty: the export has to run
    monkeypatch.setattr(_onnx, "onnx_bytes", broken)
    monkeypatch.setattr(colorizer, "AUTO_PREFERS_ONNX", True)
    light = np.full((64, 96), 50, np.float32)
    ref = predict_logits(light, size=64, backend="torch")
    with pytest.warns(RuntimeWarning, match="exporter exploded"):
        got = predict_logits(light, size=64)
    np.testing.assert_array_equal(got, ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once: later photos go straight to torch
        predict_logits(light, size=64)
    with pytest.raises(_onnx.OnnxError, match="exporter exploded"):
        predict_logits(light, size=64, backend="onnx")


# ---------------------------------------------------------------- the cache
def test_cache_file_created_once_and_named_by_weights_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("TINCT_CACHE", str(tmp_path))
    digest = sha256_of(shipped_weights())
    _onnx.onnx_session()
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [f"colornet-{digest[:8]}.onnx"]
    stamp = files[0].stat().st_mtime_ns
    _onnx.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session = _onnx.onnx_session()  # a new process would do this: reuse the file
    assert files[0].stat().st_mtime_ns == stamp and len(list(tmp_path.iterdir())) == 1
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["weights_sha256"] == digest and meta["tinct_export"] == _onnx.EXPORT_VERSION


@pytest.mark.parametrize("damage", ["garbage", "truncated", "stale"])
def test_bad_cache_file_is_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("TINCT_CACHE", str(tmp_path))
    path = _onnx.cache_path(sha256_of(shipped_weights()))
    _onnx.onnx_session()
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not an onnx model at all" * 100)
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 3])
    else:  # a well-formed export that records other weights
        _onnx.export_onnx(load_model(), path, metadata={"weights_sha256": "0" * 64})
    _onnx.clear_cache()
    with pytest.warns(_onnx.OnnxCacheWarning, match="rebuilding"):
        session = _onnx.onnx_session()
    assert session.get_modelmeta().custom_metadata_map["weights_sha256"] == sha256_of(shipped_weights())
    assert ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]) is not None
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left behind


def test_unwritable_cache_uses_an_in_memory_export(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TINCT_CACHE", str(blocker / "cache"))  # cannot be created under a file
    light = np.full((64, 64), 40, np.float32)
    with pytest.warns(_onnx.OnnxCacheWarning, match="cannot write"):
        got = predict_logits(light, size=64, backend="onnx")
    ref = predict_logits(light, size=64, backend="torch")
    assert np.abs(got - ref).max() < TOL_LOGITS


# ---------------------------------------------------------------- the CLI
def test_cli_export_onnx_shipped_and_checkpoint(tmp_path, capsys):
    assert main(["export", "--onnx", "-o", str(tmp_path / "out")]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == tmp_path / "out" / f"colornet-{sha256_of(shipped_weights())[:8]}.onnx"
    session = ort.InferenceSession(str(printed), providers=["CPUExecutionProvider"])
    assert session.run(None, {"light": np.full((2, 1, 64, 96), 50, np.float32)})[0].shape == (2, 262, 16, 24)

    from tinct.models.colornet import ColorNet

    torch.manual_seed(0)
    weights = save_weights(ColorNet().eval(), tmp_path / "w")
    assert main(["export", str(weights), "--onnx", "-o", str(tmp_path / "out")]) == 0
    assert Path(capsys.readouterr().out.strip()).name == f"colornet-{sha256_of(weights)[:8]}.onnx"


def test_cli_export_onnx_bad_input(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.pt"), "--onnx", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "nope.pt: no such weight file" in err and "\n" not in err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    assert main(["export", str(junk), "--onnx", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a tinct weight file" in err and "\n" not in err
    assert main(["export", "-o", str(tmp_path)]) == 2  # the fp16 export needs a checkpoint
    assert "needs a CHECKPOINT" in capsys.readouterr().err
    weights = str(shipped_weights())
    assert main(["export", weights, weights, "--onnx", "-o", str(tmp_path)]) == 2
    assert "--onnx exports one weight file" in capsys.readouterr().err
