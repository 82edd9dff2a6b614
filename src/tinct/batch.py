"""Batches of photos: plan outputs, run a job per photo, go on past bad files, report.

A batch never overwrites an input, writes every output atomically (see
:func:`tinct.io.imwrite`) and skips outputs that already exist, so a batch killed half
way is finished by running the same command again.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tinct.io import ImageError, find_images, remove_stale_temps, same_file

# --format name -> file suffix
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tif": ".tif", "tiff": ".tif", "webp": ".webp",
           "bmp": ".bmp"}


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path


@dataclass
class Report:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed),
                "outputs": self.done, "errors": [{"file": f, "error": e} for f, e in self.failed],
                "seconds": round(self.seconds, 3)}


def plan_jobs(inputs: Sequence[str], outdir: Path, *, fmt: str | None = None, suffix: str = "") -> list[Job]:
    """One job per photo: the output keeps the photo's name (and its folder structure
    below a folder given as input) inside ``outdir``; ``fmt`` changes the extension,
    ``suffix`` is added to the stem (e.g. ``_mkl``)."""
    if fmt is not None and fmt.lower() not in FORMATS:
        raise ValueError(f"--format must be one of {sorted(set(FORMATS))}, got {fmt!r}")
    planned: list[tuple[Path, Path]] = []  # (photo, its natural output)
    for item in inputs:
        root = Path(item)
        if not root.exists() and not root.is_symlink():
            planned.append((root, outdir / root.name))  # fails later with a clear message
            continue
        for src in find_images([root]):
            rel = src.relative_to(root) if root.is_dir() else Path(src.name)
            ext = FORMATS[fmt.lower()] if fmt else src.suffix
            planned.append((src, outdir / rel.with_name(rel.stem + suffix + ext)))
    # Two photos must not share an output (x.png and x.jpg with --format jpg, or one name in
    # two inputs): the first keeps the natural name, a later one gets x_png.jpg. A new name
    # must be nobody's natural output and no photo (the output folder may be the input's).
    key = lambda p: str(p).lower()  # noqa: E731 - case-insensitive file systems collide on case too
    reserved = {key(out) for _, out in planned} | {key(src) for src, _ in planned}
    taken: set[str] = set()
    jobs = []
    for src, out in planned:
        candidate, tag, n = out, src.suffix.lstrip(".").lower() or "file", 1
        while key(candidate) in taken or (candidate != out and key(candidate) in reserved):
            candidate = out.with_name(f"{out.stem}_{tag}{n if n > 1 else ''}{out.suffix}")
            n += 1
        taken.add(key(candidate))
        jobs.append(Job(src, candidate))
    return jobs


def triage(jobs: Iterable[Job], *, overwrite: bool = False) -> tuple[list[Job], Report]:
    """The jobs still to run, and a report that already lists the skipped outputs (they exist;
    ``overwrite`` redoes them) and the refused ones (the output would overwrite an input; each
    gets its ``error:`` line on stderr now, like a photo that fails later)."""
    jobs = list(jobs)
    sources = [j.source for j in jobs]
    report = Report()
    todo: list[Job] = []
    for folder in {j.output.parent for j in jobs}:
        remove_stale_temps(folder)  # what a killed earlier run was writing
    for job in jobs:
        if any(same_file(job.output, s) for s in sources):
            reason = f"{job.source}: output {job.output} would overwrite an input (choose another -o)"
            report.failed.append((str(job.source), reason))
            _stderr(f"error: {reason}")
        elif job.output.exists() and not overwrite:
            report.skipped.append(str(job.output))
        else:
            todo.append(job)
    return todo, report


def run_one(job: Job, work: Callable[[Job], None]) -> str | None:
    """Run ``work(job)`` (making the output's folder first); None, or the one-line reason it failed."""
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        work(job)
        return None
    except ImageError as exc:
        return str(exc)
    except (OSError, ValueError) as exc:
        return f"{job.source}: {exc}"
    except MemoryError:
        return f"{job.source}: out of memory (try a smaller --size or fewer --workers)"


def run_jobs(jobs: Iterable[Job], work: Callable[[Job], None], *, overwrite: bool = False, workers: int = 1,
             progress: bool = False, desc: str = "photos") -> Report:
    """Run ``work`` on every job; a failing photo is reported and the batch goes on."""
    start = time.time()
    todo, report = triage(jobs, overwrite=overwrite)

    def one(job: Job) -> tuple[Job, str | None]:
        return job, run_one(job, work)

    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit=desc[:-1] if desc.endswith("s") else desc, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for job, error in pool.map(one, todo):
            if error is None:
                report.done.append(str(job.output))
            else:
                report.failed.append((str(job.source), error))
                (bar.write if bar else _stderr)(f"error: {error}")
            if bar:
                bar.update(1)
    if bar:
        bar.close()
    report.seconds = time.time() - start
    return report


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def default_workers() -> int:
    """Two photos in flight use both cores of a small machine; more only help on bigger ones."""
    return max(1, min(4, os.cpu_count() or 1))
