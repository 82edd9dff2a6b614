"""Colorize a large folder on a Dask cluster (``pip install 'tinct[distributed]'``).

    tinct colorize BIGDIR -o OUT --scheduler tcp://host:8786   # an existing cluster
    tinct colorize BIGDIR -o OUT --scheduler local:4           # 4 worker processes on this machine

The same batch rules as a local run (:mod:`tinct.batch`): outputs that exist are skipped
(``overwrite`` redoes them), an output may never replace an input, every output is written
atomically by the worker that made it, and a photo that fails is reported, not fatal. Each
worker process loads the network once (:func:`tinct.models._weights.load_model` is cached per
process, and a worker plugin loads it when the worker joins) and runs torch with as many
threads as the worker has.

With a remote scheduler the inputs, OUT and a ``model`` weight file must be at the same paths
on every worker (a shared filesystem); the shipped weights come with the installed package.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from tinct.batch import Job, Report, run_one, triage

log = logging.getLogger(__name__)

# options accepted by run_distributed: tinct.colorize keywords, then reading/writing settings
COLORIZE_OPTIONS = ("model", "temperature", "saturation", "size", "reference", "levels", "balance")
FILE_OPTIONS = ("quality", "max_pixels")


def colorize_file(job: Job, options: dict[str, Any]) -> None:
    """Read, colorize and atomically write one photo, as ``tinct colorize`` does locally."""
    import tinct
    from tinct.io import imread, imwrite

    read_kw = {"max_pixels": int(options["max_pixels"])} if options.get("max_pixels") is not None else {}
    image = imread(job.source, **read_kw)
    out = tinct.colorize(image, **{k: v for k, v in options.items() if k in COLORIZE_OPTIONS})
    imwrite(job.output, out, like=job.source, quality=options.get("quality", 95))


def _task(job: Job, options: dict[str, Any]) -> str | None:
    """What a worker runs: one photo; None or the reason it failed."""
    return run_one(job, lambda j: colorize_file(j, options))


def _worker_plugin(model: str) -> Any:
    from distributed.diagnostics.plugin import WorkerPlugin

    class LoadModelOnce(WorkerPlugin):
        """Runs in every worker as it joins: torch threads = the worker's threads, network loaded."""

        def __init__(self, model: str) -> None:
            self.model = model

        def setup(self, worker: Any) -> None:
            import torch

            torch.set_num_threads(max(1, int(getattr(worker, "nthreads", 1) or 1)))
            # colour input is normal in a batch (the result says it); set once per worker
            # process, since per-photo catch_warnings in the worker's threads would race
            from tinct.colorizer import ColourInputWarning

            warnings.filterwarnings("ignore", category=ColourInputWarning)
            try:
                from tinct.models._weights import load_model

                load_model(self.model)  # cached for the life of the worker process
            except Exception as exc:  # each photo's task then reports the error
                log.warning("worker could not load model %r: %s", self.model, exc)

    return LoadModelOnce(model)


def _connect(scheduler: str, stack: ExitStack) -> Any:
    """A Client for ``tcp://host:port`` (or any Dask address) or ``local[:N]`` worker processes."""
    from distributed import Client, LocalCluster

    if scheduler == "local" or scheduler.startswith("local:"):
        n = scheduler.partition(":")[2]
        try:
            workers = int(n) if n else (os.cpu_count() or 1)
        except ValueError:
            raise ValueError(f"--scheduler {scheduler!r}: expected local:N with N a number of workers") from None
        if workers < 1:
            raise ValueError(f"--scheduler {scheduler!r}: need at least one worker")
        cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                   dashboard_address=None))
        return stack.enter_context(Client(cluster))
    return stack.enter_context(Client(scheduler, timeout="30s"))


def run_distributed(jobs: Iterable[Job], options: dict[str, Any], scheduler: str, *, overwrite: bool = False,
                    progress: bool = False) -> Report:
    """Colorize ``jobs`` on a Dask cluster; the same :class:`~tinct.batch.Report` as a local batch.

    Parameters
    ----------
    jobs : iterable of Job
        From :func:`tinct.batch.plan_jobs` (source photo -> output path).
    options : dict
        ``model``, ``temperature``, ``saturation``, ``size``, ``levels``, ``balance`` and ``reference`` (an RGB
        array, sent to every worker once) as for :func:`tinct.colorize`; ``quality`` (JPEG/WebP) and
        ``max_pixels`` (decompression-bomb guard) as for ``tinct colorize``. Missing keys take
        the library defaults.
    scheduler : str
        A scheduler address (``tcp://host:8786``) or ``local:N`` (N worker processes here,
        one thread each; ``local`` = one per core).
    overwrite : bool
        Redo outputs that exist (otherwise they are skipped, so a rerun finishes a batch).
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    Report
        done (outputs, in job order), skipped, failed ``(file, reason)`` and seconds.

    Example
    -------
    >>> jobs = plan_jobs(["scans/"], Path("out"))                          # doctest: +SKIP
    >>> report = run_distributed(jobs, {"model": "default"}, "local:2")    # doctest: +SKIP
    """
    unknown = set(options) - set(COLORIZE_OPTIONS) - set(FILE_OPTIONS)
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; expected {COLORIZE_OPTIONS + FILE_OPTIONS}")
    try:
        from distributed import as_completed
    except ImportError as exc:
        raise ImportError("--scheduler needs Dask: pip install 'tinct[distributed]'") from exc

    start = time.time()
    todo, report = triage(jobs, overwrite=overwrite)
    if not todo:
        report.seconds = time.time() - start
        return report
    with ExitStack() as stack:
        client = _connect(scheduler, stack)
        client.register_plugin(_worker_plugin(str(options.get("model", "default"))), name="tinct-load-model")
        task_options = dict(options)
        if task_options.get("reference") is not None:  # one copy per worker, not one per photo
            task_options["reference"] = client.scatter(task_options["reference"], broadcast=True)
        futures = client.map(_task, todo, options=task_options, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        errors: dict[int, str | None] = {}
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), unit="photo", file=sys.stderr)
        for future in as_completed(futures):
            i = index[future.key]
            try:
                errors[i] = future.result()
            except Exception as exc:  # an unexpected error, or a worker that died on this photo
                errors[i] = f"{todo[i].source}: {type(exc).__name__}: {exc}"
            if errors[i] is not None:
                (bar.write if bar else _stderr)(f"error: {errors[i]}")
            if bar:
                bar.update(1)
            future.release()
        if bar:
            bar.close()
    for i, job in enumerate(todo):
        if errors[i] is None:
            report.done.append(str(job.output))
        else:
            report.failed.append((str(job.source), errors[i]))
    report.seconds = time.time() - start
    return report


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


__all__ = ["run_distributed", "colorize_file", "COLORIZE_OPTIONS", "FILE_OPTIONS"]
