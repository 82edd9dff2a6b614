"""ONNX export of ColorNet and the onnxruntime session that runs it (``pip install 'tinct[onnx]'``).

The export is built from the weights on first use and cached as ``colornet-<sha8>.onnx`` in
``$TINCT_CACHE`` (default ``~/.cache/tinct``), where ``sha8`` starts the sha256 of the weight
file: new weights never reuse an old export. Each file also records the full weight hash,
:data:`EXPORT_VERSION` and the weights' colour prior (:func:`session_prior`) in its metadata; a
file that does not load or does not match is rebuilt, and an unwritable cache folder only costs
an in-memory export (with a warning).

Threads: a session runs with as many intra-op threads as torch has at the moment it is made
(``torch.get_num_threads()``, which ``tinct colorize --workers N`` sets to cores // N), one
inter-op thread and sequential execution, so N photos in flight never ask for more than the cores.
"""

from __future__ import annotations

import io
import json
import os
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tinct._warnings import ignoring
from tinct.models._weights import DEFAULT_MODEL, WeightsError, sha256_of, shipped_weights

EXPORT_VERSION = "2"  # bump when the graph, the exporter settings or the metadata change: old files are rebuilt
OPSET = 17
INPUT, OUTPUT = "light", "logits"
_PROVIDERS = ["CPUExecutionProvider"]
_LOCK = threading.Lock()


class OnnxError(RuntimeError):
    """The network could not be exported to ONNX or run by onnxruntime."""


class OnnxCacheWarning(UserWarning):
    """The ONNX cache file was stale, corrupt or could not be written (the export still works)."""


def cache_dir() -> Path:
    """Folder of cached exports: ``$TINCT_CACHE`` or ``~/.cache/tinct``."""
    env = os.environ.get("TINCT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tinct"


def weights_file(name: str = DEFAULT_MODEL) -> Path:
    """The weight file behind a model name (``"default"``: the shipped weights)."""
    return shipped_weights() if name == DEFAULT_MODEL else Path(name)


def cache_path(weights_sha256: str) -> Path:
    """Where the export of the weights with this sha256 is cached."""
    return cache_dir() / f"colornet-{weights_sha256[:8]}.onnx"


def onnx_bytes(net: Any, *, metadata: dict[str, str] | None = None, opset: int = OPSET) -> bytes:
    """Serialized ONNX model of a ColorNet (fp32) with dynamic batch, height and width.

    Input ``light``: (B, 1, H, W) float32 Lab L in [0, 100]; output ``logits``:
    (B, Q, ceil(H/4), ceil(W/4)), exactly as ``net.forward``.
    """
    import onnx
    import torch

    net = net.float().eval()
    example = torch.full((1, 1, 64, 96), 50.0)
    buf = io.BytesIO()
    with ignoring():  # TracerWarnings on shape arithmetic, the legacy-exporter notice
        torch.onnx.export(net, (example,), buf, dynamo=False, opset_version=opset, input_names=[INPUT],
                          output_names=[OUTPUT], do_constant_folding=True,
                          dynamic_axes={INPUT: {0: "batch", 2: "height", 3: "width"},
                                        OUTPUT: {0: "batch", 2: "height_4", 3: "width_4"}})
    model = onnx.load_from_string(buf.getvalue())
    for key, value in {"tinct_export": EXPORT_VERSION, **(metadata or {})}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename (never a half-written file)."""
    from tinct.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


def export_onnx(net: Any, path: str | os.PathLike[str], *, metadata: dict[str, str] | None = None) -> Path:
    """Export a ColorNet to ``path`` (atomically; dynamic batch/height/width, opset 17)."""
    path = Path(path)
    write_atomic(path, onnx_bytes(net, metadata=metadata))
    return path


def export_weights(name: str, folder: str | os.PathLike[str]) -> Path:
    """Write ``folder/colornet-<sha8>.onnx`` for a weight file, checkpoint or ``"default"``.

    ``sha8`` starts the sha256 of the weight file, as in the cache. Raises ``WeightsError``
    for a missing or bad weight file and :class:`OnnxError` when the export fails.
    """
    from tinct.models._weights import load_model

    path = weights_file(name)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weight file")
    digest = sha256_of(path)
    net = load_model(name)
    try:
        data = onnx_bytes(net, metadata=_metadata(net, digest))
    except Exception as exc:
        raise OnnxError(f"{path}: ONNX export failed: {exc.__class__.__name__}: {exc}") from exc
    target = Path(folder) / cache_path(digest).name
    write_atomic(target, data)
    return target


def _metadata(net: Any, digest: str) -> dict[str, str]:
    """What an export records beside the graph: the weights' hash and their colour prior (so the
    onnx path can apply tinct's balance without loading the torch weights)."""
    return {"weights_sha256": digest, "colour_prior": json.dumps(list(getattr(net, "extra", {}).get("prior", [])))}


def session_prior(session: Any) -> np.ndarray | None:
    """The colour prior counts recorded in an export's metadata (None if it has none)."""
    from tinct.models._weights import prior_counts

    raw = session.get_modelmeta().custom_metadata_map.get("colour_prior", "[]")
    return prior_counts({"prior": json.loads(raw)})


def session_options(threads: int) -> Any:
    """onnxruntime options: ``threads`` intra-op threads, one inter-op thread, sequential."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads sleep instead of spinning, so the cores stay free for the other photos in
    # flight; on the busy 2-core benchmark machine this was as fast at 1 thread and faster at 2.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only
    return opts


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def onnx_session(name: str = DEFAULT_MODEL, *, threads: int | None = None) -> Any:
    """A cached ``onnxruntime.InferenceSession`` for a model name or weight file.

    ``threads`` defaults to torch's current thread count; one session is kept per
    (model, threads). Raises :class:`OnnxError` when the network cannot be exported.
    """
    return _session(str(name), threads or _torch_threads())


@lru_cache(maxsize=8)
def _session(name: str, threads: int) -> Any:
    import onnxruntime as ort

    from tinct.models._weights import load_model

    with _LOCK:
        path = weights_file(name)
        if not path.is_file():
            raise WeightsError(f"{path}: no such weight file")
        digest = sha256_of(path)
        target = cache_path(digest)
        opts = session_options(threads)
        if target.is_file():
            try:
                session = ort.InferenceSession(str(target), opts, providers=_PROVIDERS)
            except Exception as exc:  # onnxruntime raises several types for a bad file
                warnings.warn(f"{target}: unreadable ONNX cache file ({exc.__class__.__name__}); rebuilding it",
                              OnnxCacheWarning, stacklevel=3)
            else:
                meta = session.get_modelmeta().custom_metadata_map
                if meta.get("weights_sha256") == digest and meta.get("tinct_export") == EXPORT_VERSION:
                    return session
                warnings.warn(f"{target}: stale ONNX cache file; rebuilding it", OnnxCacheWarning, stacklevel=3)
        net = load_model(name)  # raises WeightsError for a missing or bad file
        try:
            data = onnx_bytes(net, metadata=_metadata(net, digest))
        except Exception as exc:
            raise OnnxError(f"{path}: ONNX export failed: {exc.__class__.__name__}: {exc}") from exc
        try:
            write_atomic(target, data)
        except OSError as exc:
            warnings.warn(f"{target}: cannot write the ONNX cache ({exc.strerror or exc}); "
                          "using an in-memory export", OnnxCacheWarning, stacklevel=3)
        try:
            return ort.InferenceSession(data, opts, providers=_PROVIDERS)
        except Exception as exc:
            raise OnnxError(f"{path}: onnxruntime cannot load the export: {exc}") from exc


def clear_cache() -> None:
    """Forget the sessions made so far (the files in the cache folder stay)."""
    _session.cache_clear()


def run(session: Any, light: Any) -> Any:
    """Logits (B, Q, h, w) float32 for an L batch (B, 1, H, W) float32."""
    return session.run([OUTPUT], {INPUT: light})[0]
