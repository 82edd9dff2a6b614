"""The ``tinct`` command line. ``main(argv) -> int`` is testable in-process."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tinct import __version__
from tinct.io import ImageError

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user-facing error: printed as one ``error: ...`` line, exit code 2."""


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _not_built(name: str) -> Callable[[argparse.Namespace], int]:
    def run(_args: argparse.Namespace) -> int:
        _err(f"'tinct {name}' is not built yet in this version of tinct")
        return EXIT_USAGE

    return run


# ---------------------------------------------------------------- train
def _cmd_train(args: argparse.Namespace) -> int:
    from tinct.training.config import load_config
    from tinct.training.loop import train

    data = Path(args.data)
    if not data.is_dir():
        raise CliError(f"{data}: not a folder of photos")
    try:
        cfg = load_config(args.config, preset=args.preset, overrides=args.set)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc
    try:
        summary = train(data, Path(args.out), cfg, resume=args.resume, overrides=args.set,
                        progress=not args.quiet and sys.stderr.isatty())
    except (ValueError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from exc
    print(f"trained to step {summary['step']} ({summary['stopped']}); best holdout loss "
          f"{summary['best_holdout_loss']:.4f}; run folder {args.out}")
    return EXIT_OK


# ---------------------------------------------------------------- shared
def _progress_wanted(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _finish_batch(report, args: argparse.Namespace, what: str) -> int:
    """Print the summary (and JSON when asked); exit 1 if any photo failed."""
    import json

    if args.json:
        text = json.dumps(report.to_dict(), indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    if not args.quiet and args.json != "-":
        parts = [f"{len(report.done)} {what}"]
        if report.skipped:
            parts.append(f"{len(report.skipped)} skipped (output exists; --overwrite redoes them)")
        if report.failed:
            parts.append(f"{len(report.failed)} failed")
        print(", ".join(parts) + f" in {report.seconds:.1f}s", file=sys.stderr)
    if report.failed:
        if len(report.failed) > 1:
            print("failed files:", file=sys.stderr)
            for f, _ in report.failed:
                print(f"  {f}", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def _add_batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", help="output format: png, jpg, tif, webp, bmp (default: the input's)")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    p.add_argument("--max-pixels", type=float, default=None, metavar="N",
                   help="refuse images larger than N pixels (decompression-bomb guard; default 64e6)")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default 95)")
    p.add_argument("--workers", type=int, default=0, help="photos processed at once (default: cores, max 4)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.add_argument("--json", metavar="FILE", help="write a JSON summary to FILE ('-' for stdout)")


def _read_kwargs(args: argparse.Namespace) -> dict:
    return {} if args.max_pixels is None else {"max_pixels": int(args.max_pixels)}


# ---------------------------------------------------------------- colorize
def _cmd_colorize(args: argparse.Namespace) -> int:
    from tinct.batch import default_workers, plan_jobs, run_jobs
    from tinct.io import imread, imwrite

    options = dict(model=args.model, temperature=args.temperature, saturation=args.saturation, size=args.size)
    if not 0 < args.temperature <= 1:
        raise CliError(f"--temperature must be in (0, 1], got {args.temperature}")
    if args.saturation < 0:
        raise CliError(f"--saturation must be >= 0, got {args.saturation}")
    hints = _parse_hints(args)
    reference = imread(args.reference, **_read_kwargs(args)) if args.reference else None
    if args.model != "default" and not Path(args.model).is_file():
        raise CliError(f"{args.model}: no such weight file")
    try:
        jobs = plan_jobs(args.inputs, Path(args.output), fmt=args.format)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not jobs:
        raise CliError(f"no images found in {' '.join(args.inputs)}")
    if hints and len(jobs) > 1:
        raise CliError("hints and scribbles apply to one photo: give a single INPUT with them")

    import warnings

    import tinct

    def work(job) -> None:
        image = imread(job.source, **_read_kwargs(args))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # colour input is normal in a batch; the result says it
            out = tinct.colorize(image, hints=hints, reference=reference, **options)
        imwrite(job.output, out, like=job.source, quality=args.quality)

    workers = args.workers or default_workers()
    _limit_torch_threads(workers)
    report = run_jobs(jobs, work, overwrite=args.overwrite, workers=workers, progress=_progress_wanted(args))
    return _finish_batch(report, args, "colorized")


def _limit_torch_threads(workers: int) -> None:
    # N photos in flight with N threads each would oversubscribe the cores.
    import os

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, workers)))


def _parse_hints(args: argparse.Namespace) -> list:
    if not (args.hint or args.hints or args.scribbles):
        return []
    from tinct.guide import hints_from_json, hints_from_scribbles, parse_hint

    hints = []
    try:
        hints += [parse_hint(h) for h in args.hint]
        if args.hints:
            hints += hints_from_json(Path(args.hints))
        if args.scribbles:
            hints += hints_from_scribbles(Path(args.scribbles))
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc
    return hints


# ---------------------------------------------------------------- export
def _cmd_export(args: argparse.Namespace) -> int:
    from tinct.models._weights import WeightsError, export_checkpoint

    try:
        path = export_checkpoint(Path(args.checkpoint), Path(args.output))
    except WeightsError as exc:
        raise CliError(str(exc)) from exc
    print(path)
    return EXIT_OK


# ---------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from tinct.demo import run_demo

    page = run_demo(Path(args.output))
    print(f"demo written to {page}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinct", description="Bring colour to photographs.")
    p.add_argument("--version", action="version", version=f"tinct {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("colorize", help="colorize grayscale photos (files or folders)")
    c.add_argument("inputs", nargs="+", metavar="INPUT", help="photos or folders (searched recursively)")
    c.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    c.add_argument("--model", default="default", help="weight file (default: the shipped network)")
    c.add_argument("--temperature", type=float, default=0.38,
                   help="annealed-mean temperature in (0, 1]: lower = more vivid (default 0.38)")
    c.add_argument("--saturation", type=float, default=1.0, help="chroma multiplier (default 1)")
    c.add_argument("--size", type=int, default=256, help="network working resolution, short side (default 256)")
    c.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB[,RADIUS]",
                   help="a colour hint at pixel X,Y (repeatable)")
    c.add_argument("--hints", metavar="FILE", help="hints as JSON (see docs/hints.md)")
    c.add_argument("--scribbles", metavar="PNG", help="colour strokes on a transparent or gray layer")
    c.add_argument("--reference", metavar="PHOTO", help="a colour photo whose colours steer the result")
    _add_batch_options(c)
    c.set_defaults(func=_cmd_colorize)

    t = sub.add_parser("train", help="train a colorization network on a folder of colour photos")
    t.add_argument("data", metavar="DATA", help="folder of colour photos (searched recursively)")
    t.add_argument("--out", required=True, help="run folder: checkpoints, metrics, config")
    t.add_argument("--config", help="TOML file of TrainConfig fields")
    t.add_argument("--preset", help="named CPU preset (smoke, cpu)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one field")
    t.add_argument("--resume", action="store_true", help="continue RUN/checkpoint.pt exactly")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("export", help="turn a training checkpoint into a shippable fp16 weight file")
    e.add_argument("checkpoint", metavar="CHECKPOINT")
    e.add_argument("-o", "--output", required=True, metavar="FOLDER", help="folder for <name>-<hash>.pt")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("demo", help="colorize the bundled sample photos and write a before/after page")
    d.add_argument("-o", "--output", default="demo-output", metavar="OUTDIR")
    d.set_defaults(func=_cmd_demo)

    for name, text in [("transfer", "recolour a photo in the palette of another"),
                       ("explain", "uncertainty maps and colour suggestions"),
                       ("evaluate", "score colorization methods on colour photos"),
                       ("serve", "web page for colorizing, guiding and restyling")]:
        s = sub.add_parser(name, help=text)
        s.add_argument("rest", nargs=argparse.REMAINDER)
        s.set_defaults(func=_not_built(name))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except ImageError as exc:  # a single named input (e.g. --reference) that cannot be read
        _err(str(exc))
        return EXIT_USAGE
    except CliError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
