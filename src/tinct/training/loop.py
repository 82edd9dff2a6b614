"""The training loop, top to bottom (in the spirit of nanoGPT's train.py).

    tinct train DATA --out RUN [--preset cpu] [--config cfg.toml] [--set key=value ...] [--resume]

RUN/ receives ``config.json`` (resolved), ``metrics.jsonl`` (one line per log/eval),
``checkpoint.pt`` (latest: model, optimizer, step, RNG, config, prior; written atomically,
the one before kept as ``checkpoint.pt.prev``),
``best.pt`` (best holdout loss), ``loss.png`` and ``holdout.txt`` (the held-out photos, one
path per line: ``tinct evaluate RUN/holdout.txt`` scores a network on them).

Started by ``torchrun`` the same loop trains data-parallel: see :mod:`tinct.training.ddp`
(each rank trains on its slice of the global batch; rank 0 evaluates and writes RUN/).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinct.io import atomic_write, remove_stale_temps
from tinct.training import ddp
from tinct.training.config import PRESETS, TrainConfig

log = logging.getLogger(__name__)


def get_lr(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to ``lr * min_lr_ratio`` at ``max_steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def _atomic_save(obj: Any, path: Path, *, keep_previous: bool = False) -> None:
    """``torch.save`` through :func:`tinct.io.atomic_write` (temp file, fsync, rename): a kill
    at any moment leaves a complete file. ``keep_previous`` first makes ``<name>.prev`` a copy
    of the old file, so ``path`` never goes missing and :func:`load_checkpoint` has a fallback
    if the newest one is ever unreadable."""
    import torch

    if keep_previous and path.exists():  # a copy, not a hard link: damage to one must spare the other
        with open(path, "rb") as old:
            atomic_write(_previous(path), lambda fp: shutil.copyfileobj(old, fp))
    atomic_write(path, lambda fp: torch.save(obj, fp))


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".prev")


def load_checkpoint(path: Path) -> dict:
    """The newest complete checkpoint: ``path``, else its ``.prev`` copy (a file damaged on
    disk), with a warning; the damaged file is kept as ``<name>.damaged``."""
    import pickle

    import torch

    problems = []
    for candidate in (path, _previous(path)):
        if not candidate.exists():
            continue
        try:
            state = torch.load(candidate, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as exc:
            problems.append(f"{candidate}: unreadable ({str(exc).splitlines()[0][:80]})")
            if candidate == path:  # the next save must not make it the fallback
                os.replace(path, path.with_name(path.name + ".damaged"))
            continue
        for problem in problems:
            log.warning("%s; resuming from %s", problem, candidate.name)
        return state
    if problems:
        raise ValueError("; ".join(problems))
    raise FileNotFoundError(f"{path}: no checkpoint to resume from")


def _plot_losses(run: Path) -> None:
    """Loss curves from metrics.jsonl to loss.png (matplotlib-free: drawn with PIL)."""
    from tinct._plot import line_plot

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    train = [(r["step"], r["loss"]) for r in rows if r["kind"] == "train"]
    hold = [(r["step"], r["holdout_loss"]) for r in rows if r["kind"] == "eval"]
    line_plot({"train loss": train, "holdout loss": hold}, run / "loss.png", xlabel="step", ylabel="loss")


# Fields a resumed run may change: they affect speed and bookkeeping, not the result.
MIN_USEFUL_HOLDOUT = 20  # fewer held-out photos than this get a warning
RESUMABLE_OVERRIDES = frozenset({"threads", "workers", "device", "max_minutes", "log_every", "eval_every",
                                 "checkpoint_every", "max_steps", "patience"})


def train(data: Path, out: Path, cfg: TrainConfig, *, resume: bool = False, progress: bool = True,
          overrides: list[str] | None = None, is_holdout: Callable[[Path], bool] | None = None) -> dict:
    """Train a ColorNet on the photos under ``data``; returns the final summary dict.

    With ``resume`` the run continues from ``out/checkpoint.pt`` with the checkpoint's
    own config; ``overrides`` (``key=value``) may then change only RESUMABLE_OVERRIDES.
    ``is_holdout(path)`` picks the holdout photos (cross-validation passes "in fold i");
    by default it is the ``cfg.holdout_fraction`` hash split.
    """
    import torch

    from tinct.color.gamut import ab_bins, annealed_mean, rebalance_weights
    from tinct.models.colornet import ColorNet, ColorNetConfig, build_network
    from tinct.training.data import ab_prior_counts, batch_stream, center_crop, group_of, load_photos, make_batch
    from tinct.training.loss import rebalanced_soft_ce

    dist = ddp.init()  # one process unless started by torchrun
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ckpt_path = out / "checkpoint.pt"
    remove_stale_temps(out)  # the half-written checkpoint of a killed run
    state = None
    if not resume and ckpt_path.exists():  # a second `tinct train` into the folder would replace it
        raise ValueError(f"{out} already holds a run ({ckpt_path.name}): --resume continues it; give another "
                         "--out for a new run (or delete the folder)")
    if resume:
        state = load_checkpoint(ckpt_path)
        fixed = [o for o in overrides or [] if o.partition("=")[0].strip() not in RESUMABLE_OVERRIDES]
        if fixed:
            raise ValueError(f"cannot change {fixed} when resuming; only {sorted(RESUMABLE_OVERRIDES)}")
        # a resumed run keeps its own config (apart from speed/bookkeeping fields)
        cfg = TrainConfig(**state["config"]).with_overrides(overrides or [])
    ddp.check_batch_size(cfg.batch_size, dist)
    if not dist.active:
        dist = dataclasses.replace(dist, device=_resolve_device(cfg.device))
    on_gpu = dist.device.startswith("cuda")
    if on_gpu:
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
    # ---- data: decode once, split by hash, rebalancing weights from the training prior
    t0 = time.time()
    kw = dict(holdout_fraction=cfg.holdout_fraction, load_short=cfg.load_short, min_side=cfg.min_side,
              group_weights=cfg.group_weights, is_holdout=is_holdout, workers=cfg.workers)
    photos = load_photos(data, split="train", **kw)
    holdout = load_photos(data, split="holdout", **kw)
    skipped = {k: photos.skipped[k] + holdout.skipped[k] for k in photos.skipped}
    if len(photos) < 2 or len(holdout) < 1:
        raise ValueError(f"{data}: need at least 2 training photos and 1 held-out photo (found {len(photos)} "
                         f"and {len(holdout)}; skipped {skipped}); more colour photos, or a larger "
                         "holdout_fraction for a small folder")
    log.info("data: %d train, %d holdout photos in %.0fs; skipped %s", len(photos), len(holdout),
             time.time() - t0, skipped)
    if len(holdout) < MIN_USEFUL_HOLDOUT:
        log.warning("only %d held-out photos: early stopping and `tinct evaluate RUN/holdout.txt` on so few are "
                    "mostly chance; --set holdout_fraction=%.2f would hold out ~%d", len(holdout),
                    min(0.5, MIN_USEFUL_HOLDOUT / (len(photos) + len(holdout))), MIN_USEFUL_HOLDOUT)
    groups = {group_of(p, data) for p in photos.paths + holdout.paths} - {""}
    # a typo would silently weigh nothing (the presets' groups are ../shared/data's, not a user's)
    preset_groups = {g for preset in PRESETS.values() for g in preset.get("group_weights", {})}
    if unknown := sorted(set(cfg.group_weights) - groups - preset_groups):
        log.warning("group_weights names %s, not a folder of %s (its groups: %s)", unknown, data,
                    ", ".join(sorted(groups)) or "none: the photos are not in subfolders")
    if dist.main:
        # written once the data is known to be usable: a failed start leaves the old one
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        # the photos to score the run's network on: `tinct evaluate RUN/holdout.txt`
        listed, held = "".join(f"{Path(p).resolve()}\n" for p in holdout.paths), out / "holdout.txt"
        if held.is_file() and held.read_text() != listed:
            log.warning("%s: this session holds out other photos than the last (other data?); the list now "
                        "names this session's, best.pt may have been chosen on the old ones", held)
        atomic_write(held, listed.encode())
    prior = np.asarray(state["prior"]) if state else ab_prior_counts(photos, seed=cfg.seed)
    class_w = torch.from_numpy(rebalance_weights(prior, lam=cfg.rebalance_lambda)).to(dist.device)
    bins = torch.from_numpy(ab_bins())
    hold_crops = [center_crop(im, size=cfg.crop) for im in holdout.images]

    # ---- model and optimizer (decoder learns faster than the pretrained encoder)
    torch.manual_seed(cfg.seed)
    if state is not None:  # the network the run started with (a fine-tuned ensemble stays one)
        model = build_network(state["net_config"])
    elif cfg.init_from:  # fine-tuning keeps the architecture of the weights it starts from
        from tinct.models._weights import load_model

        source = load_model(cfg.init_from)
        spec = source.config.to_dict()
        members = spec.get("members", [spec])
        if len(members) == 1 and (members[0]["encoder"], members[0]["width"], members[0]["width_fine"]) != (
                cfg.encoder, cfg.width, cfg.width_fine):
            raise ValueError(f"init_from={cfg.init_from}: its network is {members[0]['encoder']} width "
                             f"{members[0]['width']}/{members[0]['width_fine']}, this config asks for {cfg.encoder} "
                             f"width {cfg.width}/{cfg.width_fine}; set encoder/width/width_fine to match")
        # dropout only acts in training, so this run's value applies (to every member of an ensemble)
        members = [{**c, "dropout": cfg.dropout} for c in members]
        model = build_network(members[0] if len(members) == 1 else {"members": members})
        model.load_state_dict(source.state_dict())
    else:
        model = ColorNet(ColorNetConfig(encoder=cfg.encoder, num_bins=len(bins), width=cfg.width,
                                        width_fine=cfg.width_fine, dropout=cfg.dropout))
        if cfg.pretrained:
            model.load_pretrained_encoder()
    if model.config.num_bins != len(bins):
        raise ValueError(f"the network predicts {model.config.num_bins} ab bins, tinct has {len(bins)} "
                         f"(init_from={cfg.init_from!r})")
    model.to(dist.device)
    encoders = [m for n, m in model.named_modules() if n.rpartition(".")[2] == "encoder"]  # one per member
    enc = [p for m in encoders for p in m.parameters()]
    in_enc = {id(p) for p in enc}
    dec = [p for p in model.parameters() if id(p) not in in_enc]
    if cfg.freeze_encoder:  # before DDP wraps the model: DDP expects a gradient for every parameter it saw
        for p in enc:
            p.requires_grad_(False)
    net = ddp.wrap(model, dist)  # DistributedDataParallel under torchrun: averages the gradients
    groups = [{"params": dec, "lr_mult": 1.0}]
    if not cfg.freeze_encoder:
        groups.append({"params": enc, "lr_mult": cfg.encoder_lr_mult})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, bad_evals = 0, float("inf"), 0
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best, bad_evals = state["step"], state["best"], state["bad_evals"]
        torch.set_rng_state(state["torch_rng"])
        with contextlib.suppress(OSError, RuntimeError, KeyError):  # a fallback may predate best.pt
            best = min(best, torch.load(out / "best.pt", map_location="cpu", weights_only=True)["best"])
        log.info("resumed from step %d (best holdout %.4f)", step, best)

    def checkpoint(path: Path) -> None:
        _atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                      "best": best, "bad_evals": bad_evals, "config": cfg.to_dict(),
                      "net_config": model.config.to_dict(), "prior": prior.tolist(),
                      "torch_rng": torch.get_rng_state()}, path,
                     keep_previous=path == ckpt_path)

    def train_mode() -> None:
        model.train()
        if cfg.freeze_encoder:  # a frozen encoder keeps its BatchNorm statistics too (no drift)
            for m in encoders:
                m.eval()

    def forward(light: np.ndarray, network: Any) -> Any:
        """Logits in float32; on a GPU the network runs under bf16 autocast (tensor cores), and the
        loss's log-softmax stays in float32."""
        x = torch.from_numpy(light).to(dist.device, non_blocking=True).float()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=on_gpu):
            return network(x).float()

    def targets(b: Any) -> tuple[Any, Any]:
        return (torch.from_numpy(b.target_idx).to(dist.device, non_blocking=True).long(),
                torch.from_numpy(b.target_w).to(dist.device, non_blocking=True).float())

    @torch.no_grad()
    def evaluate() -> dict[str, float]:
        model.eval()
        losses, errs = [], []
        n = min(len(hold_crops), cfg.eval_batches * cfg.batch_size)
        for i in range(0, n, cfg.batch_size):
            b = make_batch(hold_crops[i:i + cfg.batch_size], k=cfg.soft_k, sigma=cfg.soft_sigma)
            logits = forward(b.light, model)
            losses.append(rebalanced_soft_ce(logits, *targets(b), class_w).item())
            ab = annealed_mean(logits.cpu().numpy(), temperature=0.38, axis=1)
            errs.append(float(np.linalg.norm(ab - b.ab, axis=-1).mean()))
        train_mode()
        return {"holdout_loss": float(np.mean(losses)), "holdout_ab_err": float(np.mean(errs))}

    # ---- stop cleanly on SIGINT/SIGTERM: finish the step, checkpoint, exit
    stop = {"why": ""}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["why"] = signal.Signals(signum).name

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    metrics = open(out / "metrics.jsonl", "a") if dist.main else None  # only rank 0 writes RUN/

    def record(row: dict) -> None:
        if metrics is not None:
            metrics.write(json.dumps(row) + "\n")
            metrics.flush()

    bar = None
    if progress and dist.main:
        from tqdm import tqdm

        bar = tqdm(total=cfg.max_steps, initial=step, unit="step", dynamic_ncols=True)
    start, seen, tick = time.time(), 0, time.time()
    train_mode()
    batches = batch_stream(photos, cfg, start=step, rank=dist.rank, world_size=dist.world_size)
    try:
        while step < cfg.max_steps:
            # one step: sample photos by weight, augment, encode targets, forward/backward
            lr = get_lr(step, cfg)
            for g in opt.param_groups:
                g["lr"] = lr * g["lr_mult"]
            b = next(batches)  # this rank's slice of the step's global batch
            loss = rebalanced_soft_ce(forward(b.light, net), *targets(b), class_w)
            total = loss + cfg.l1 * sum(p.abs().sum() for p in dec) if cfg.l1 else loss
            opt.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            seen += cfg.batch_size
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}")
            if step % cfg.log_every == 0:
                ips = seen / (time.time() - tick)
                seen, tick = 0, time.time()
                batch_loss = ddp.mean_over_ranks(loss.item(), dist)  # the whole batch's loss
                # the device on every row: a run resumed elsewhere (GPU, then CPU) says where each step ran
                row = {"kind": "train", "step": step, "loss": batch_loss, "lr": lr, "img_per_s": ips,
                       "elapsed_s": time.time() - start, "device": dist.device}
                record(row)
                if bar is None:
                    log.info("step %d loss %.4f lr %.2e %.1f img/s", step, batch_loss, lr, ips)
            if dist.main and (step % cfg.eval_every == 0 or step == cfg.max_steps):
                ev = evaluate()
                improved = ev["holdout_loss"] < best
                if improved:
                    best, bad_evals = ev["holdout_loss"], 0
                else:
                    bad_evals += 1
                record({"kind": "eval", "step": step, **ev})
                log.info("eval step %d: %s%s", step, ev, " (best)" if improved else "")
                if improved:
                    checkpoint(out / "best.pt")
                if bad_evals >= cfg.patience:
                    stop["why"] = f"early stop: no holdout improvement in {cfg.patience} evals"
            if dist.main and step % cfg.checkpoint_every == 0:
                checkpoint(ckpt_path)
            if cfg.max_minutes and (time.time() - start) / 60 > cfg.max_minutes:
                stop["why"] = f"time budget of {cfg.max_minutes} min reached"
            if ddp.any_rank(bool(stop["why"]), dist):  # all ranks stop at the same step
                stop["why"] = stop["why"] or "stopped with another rank"
                break
    finally:
        batches.close()  # stops the worker processes
        if dist.main:
            checkpoint(ckpt_path)
        if metrics is not None:
            metrics.close()
        if bar is not None:
            bar.close()
        for s, handler in old.items():
            signal.signal(s, handler)
    summary = {"step": step, "best_holdout_loss": best, "stopped": stop["why"] or "max_steps",
               "train_photos": len(photos), "holdout_photos": len(holdout), "skipped": skipped,
               "device": dist.device}
    if dist.active:
        in_sync = ddp.weights_in_sync(model, dist)  # DDP keeps replicas identical; verify it did
        if not in_sync:
            log.warning("the ranks ended with different weights")
        summary["ddp"] = {"world_size": dist.world_size, "backend": dist.backend, "weights_in_sync": in_sync}
    if dist.main:
        _plot_losses(out)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log.info("done: %s", summary)
    return summary


def _resolve_device(name: str) -> str:
    """``cfg.device``: "auto" is the first GPU when torch sees one, else the CPU."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: torch sees no GPU on this machine (use device=cpu or auto)")
    return name


__all__ = ["train", "get_lr"]
