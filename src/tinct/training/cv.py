"""K-fold cross-validation: ``tinct train DATA --out RUN --folds K``.

Every photo belongs to one fold, fixed by the hash of its bytes (:func:`fold_of`). Run ``i``
trains on the other K-1 folds with :func:`tinct.training.loop.train` and holds out fold ``i``
(``RUN/fold-i/``, a complete run folder). ``RUN/cv_summary.json`` gets, per fold and as
mean ± std over the folds, the holdout metrics of the best evaluation (the one ``best.pt``
keeps): holdout loss and holdout ab error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinct.training import ddp
from tinct.training.config import TrainConfig
from tinct.training.data import fold_of
from tinct.training.loop import train

log = logging.getLogger(__name__)

CV_METRICS = ("holdout_loss", "holdout_ab_err")


def in_fold(i: int, k: int) -> Callable[[Path], bool]:
    """``is_holdout`` for run ``i``: the photos of fold ``i`` of ``k``."""
    return lambda path: fold_of(path, k) == i


def best_eval(run: Path) -> dict[str, float]:
    """The evaluation row of ``run/metrics.jsonl`` with the lowest holdout loss."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    evals = [r for r in rows if r["kind"] == "eval"]
    if not evals:
        raise ValueError(f"{run}: no evaluation in metrics.jsonl (max_steps < eval_every?)")
    best = min(evals, key=lambda r: r["holdout_loss"])
    return {"step": best["step"], **{k: best[k] for k in CV_METRICS}}


def _finished(run: Path, overrides: list[str] | None) -> bool:
    """A fold to keep on --resume: it stopped early, or ran to the max_steps asked now. One
    stopped by a signal or a time budget, or asked for more steps, continues."""
    if not (run / "summary.json").exists():
        return False
    summary = json.loads((run / "summary.json").read_text())
    why = str(summary.get("stopped", ""))
    if why.startswith("early stop"):
        return True
    if why != "max_steps":
        return False
    own = TrainConfig(**json.loads((run / "config.json").read_text()))
    return summary["step"] >= own.with_overrides(overrides or []).max_steps


def cross_validate(data: Path, out: Path, cfg: TrainConfig, k: int, *, resume: bool = False,
                   progress: bool = True, overrides: list[str] | None = None) -> dict:
    """Train ``k`` runs into ``out/fold-i/``, each holding out fold ``i``; summarise the metrics.

    ``cfg.holdout_fraction`` is not used: fold ``i`` is the holdout of run ``i``. With
    ``resume`` a finished fold is kept, and one interrupted (a signal, a time budget) or asked for
    more steps (``--set max_steps=``) continues from its checkpoint. Returns the dict written to
    ``out/cv_summary.json``.
    """
    if k < 2:
        raise ValueError(f"--folds needs at least 2 folds, got {k}")
    out.mkdir(parents=True, exist_ok=True)
    for i in range(k):
        run = out / f"fold-{i}"
        if resume and _finished(run, overrides):
            log.info("fold %d/%d: already finished, kept", i + 1, k)
            continue
        log.info("fold %d/%d: holding out fold %d", i + 1, k, i)
        train(data, run, cfg, resume=resume and (run / "checkpoint.pt").exists(), progress=progress,
              overrides=overrides, is_holdout=in_fold(i, k))
    if ddp.rank() != 0:  # under torchrun only rank 0 wrote the run folders
        return {"folds": k}
    folds = []
    for i in range(k):
        run = out / f"fold-{i}"
        summary = json.loads((run / "summary.json").read_text())
        folds.append({"fold": i, "run": str(run), **best_eval(run), "train_photos": summary["train_photos"],
                      "holdout_photos": summary["holdout_photos"]})
    result: dict = {"folds": k, "per_fold": folds}
    for key in CV_METRICS:
        values = np.array([f[key] for f in folds], np.float64)
        # sample std (ddof=1): the spread to expect between folds
        result[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))}
    (out / "cv_summary.json").write_text(json.dumps(result, indent=2))
    return result


def format_summary(result: dict) -> str:
    """One line per metric: ``holdout_loss 3.1234 ± 0.0456 (5 folds)``."""
    return "\n".join(f"{key:<15} {result[key]['mean']:.4f} ± {result[key]['std']:.4f} ({result['folds']} folds)"
                     for key in CV_METRICS if key in result)


__all__ = ["cross_validate", "in_fold", "best_eval", "format_summary", "CV_METRICS"]
