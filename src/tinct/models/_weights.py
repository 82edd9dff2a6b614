"""Shipped weights: fp16 state dicts in the package, named ``<name>-<sha256[:8]>.pt``.

The hash prefix in the file name is checked on every load, so a truncated or swapped
file fails loudly instead of colorizing badly. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "default"
_NAME = re.compile(r"^(?P<stem>.+)-(?P<hash>[0-9a-f]{8})\.pt$")


class WeightsError(ValueError):
    """A weight file is missing, corrupt or does not fit the network."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shipped_weights() -> Path:
    """Path of the default weights inside the installed package."""
    folder = resources.files("tinct") / "weights"
    found = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name) and p.name.startswith("colornet-"))
    if not found:
        raise WeightsError("no colornet-*.pt weights in the tinct package (a broken install?)")
    return Path(str(folder / found[-1]))


def save_weights(model: Any, folder: Path, *, stem: str = "colornet", extra: dict | None = None) -> Path:
    """Write ``model``'s state dict as fp16 with its config; returns the hash-named path."""
    import torch

    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    payload = {"state_dict": state, "config": json.dumps(model.config.to_dict()),
               "extra": json.dumps(extra or {})}
    buf = io.BytesIO()
    torch.save(payload, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:8]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{digest}.pt"
    path.write_bytes(data)
    return path


def read_weights(path: Path) -> dict[str, Any]:
    """Load a weight file after checking the hash prefix in its name (when it has one)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weight file")
    m = _NAME.match(path.name)
    if m and not sha256_of(path).startswith(m["hash"]):
        raise WeightsError(f"{path}: sha256 does not start with {m['hash']}: the file is corrupt or altered")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise WeightsError(f"{path}: not a tinct weight file ({exc.__class__.__name__})") from exc
    if "state_dict" in payload and "config" in payload:
        return {"state_dict": payload["state_dict"], "config": json.loads(payload["config"]),
                "extra": json.loads(payload.get("extra", "{}"))}
    if "model" in payload and "net_config" in payload:  # a training checkpoint
        return {"state_dict": payload["model"], "config": payload["net_config"],
                "extra": {"step": payload["step"], "train_config": payload["config"],
                          "prior": [float(v) for v in payload.get("prior", [])]}}
    raise WeightsError(f"{path}: not a tinct weight file (no state_dict/config)")


def _network(payload: dict[str, Any], path: Path) -> Any:
    """The network of a read weight file, its weights loaded (dtype as stored)."""
    from tinct.models.colornet import build_network

    try:
        model = build_network(payload["config"])
        model.load_state_dict(payload["state_dict"], strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: weights do not fit the network: {str(exc).splitlines()[0]}") from exc
    return model


@lru_cache(maxsize=4)
def load_model(name: str = DEFAULT_MODEL) -> Any:
    """A ColorNet (or ColorEnsemble) in eval mode (float32) from the shipped weights or a file path."""
    path = shipped_weights() if name == DEFAULT_MODEL else Path(name)
    payload = read_weights(path)
    model = _network(payload, path).float()
    model.extra = payload["extra"]
    return model.eval()


def prior_counts(extra: dict) -> np.ndarray | None:
    """The ab-bin counts (Q,) in a weight file's ``extra``, or None when it has none (or a bad one)."""
    from tinct.color.gamut import ab_bins

    counts = np.asarray(extra.get("prior", []), np.float64)
    return counts if counts.shape == (len(ab_bins()),) and counts.sum() > 0 else None


def colour_prior(name: str = DEFAULT_MODEL) -> np.ndarray | None:
    """The ab-bin counts of the photos a model was trained on (Q,), or None if its file has none.

    Every weight file ``tinct train`` or ``tinct export`` writes carries them (an ensemble: its
    members' mean).
    """
    return prior_counts(load_model(name).extra)


def export_checkpoints(checkpoints: list[Path], folder: Path, *, stem: str = "colornet") -> Path:
    """Write the fp16 weight file of training checkpoints (or weight files) into ``folder``.

    One checkpoint gives its network; several give a :class:`~tinct.models.colornet.ColorEnsemble`
    of them (an ensemble among the inputs contributes its members: ensembles do not nest). The
    ensemble's ``extra`` keeps each member's, and its colour prior (:func:`colour_prior`) is the
    mean of the inputs' normalised priors, over the inputs that have one.
    """
    from tinct.models.colornet import ColorEnsemble, EnsembleConfig

    payloads = [read_weights(c) for c in checkpoints]
    nets = [_network(p, c) for p, c in zip(payloads, checkpoints, strict=True)]
    extras = [{"source": c.name, **p["extra"]} for p, c in zip(payloads, checkpoints, strict=True)]
    if len(nets) == 1:
        return save_weights(nets[0], folder, stem=stem, extra=extras[0])
    members, member_extras = [], []
    for net, extra in zip(nets, extras, strict=True):
        if isinstance(net, ColorEnsemble):
            members += list(net.members)
            member_extras += extra.get("members", [{"source": extra["source"]}] * len(net.members))
        else:
            members.append(net)
            member_extras.append({k: v for k, v in extra.items() if k != "prior"})
    try:
        model = ColorEnsemble(EnsembleConfig(tuple(m.config for m in members)), members)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"cannot ensemble {', '.join(map(str, checkpoints))}: {exc}") from exc
    priors = [p / p.sum() for p in map(prior_counts, extras) if p is not None]
    extra: dict[str, Any] = {"members": member_extras}
    if priors:
        extra["prior"] = [float(v) for v in np.mean(priors, axis=0)]
    return save_weights(model, folder, stem=stem, extra=extra)
