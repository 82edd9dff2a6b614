"""``tinct explain``: an explanation folder per photo.

For every input photo, ``run_explain`` writes into ``OUTDIR/<stem>/``:

================  =====================================================================
uncertainty.png   entropy of the predicted colour distribution over the gray photo, with
                  a colour bar in bits (stretched to the photo's 1st-99th percentile)
colorized.png     the automatic colorization (same size, bit depth and alpha as the input)
candidates.png    the photo with its regions outlined and numbered, and per region its
                  top-k candidate colours with probabilities
saliency.png      gradient saliency for the explained region (outlined) over the gray photo
suggestions.json  the numbers behind candidates.png (schema ``tinct.interpret/1``, below)
README.txt        how to read each picture
index.html        all of it on one page
================  =====================================================================

and ``OUTDIR/index.html`` links the photos. See ``docs/explain.md``.

``suggestions.json`` (schema ``tinct.interpret/1``)::

    {
      "schema": "tinct.interpret/1",
      "source": "photo.jpg",                # input file name
      "width": 640, "height": 480,          # photo size in pixels
      "model": "default", "weights": "colornet-49ad7057.pt",
      "size": 160,                          # working short side
      "temperature": 1.25,                 # of colorized.png (probabilities are at T = 1)
      "levels": false,                     # the network saw the lightness stretched (--levels)
      "balance": 0.05,                     # logit adjustment of the distributions (tinct colorize --balance)
      "k": 5,
      "num_bins": 262, "max_entropy_bits": 8.0334,
      "entropy_bits": {"mean": 6.1, "p10": 5.2, "p50": 6.2, "p90": 7.0},
      "regions": [{"id": 0, "centroid": [x, y], "bbox": [x0, y0, x1, y1],  # end exclusive
                   "area_fraction": 0.03, "mean_l": 71.2, "entropy_bits": 6.4,
                   "candidates": [{"hex": "#a5caff", "rgb": [165, 202, 255],
                                   "ab": [0.0, -30.0], "probability": 0.32}, ...]}, ...],
      "point": null | {"x": 10, "y": 20, "suggestions": [<candidate>, ...]},
      "saliency": {"target": "most uncertain region #7 (7.66 bits)", "box": [x0, y0, x1, y1]},
      "files": {"uncertainty": "uncertainty.png", "colorized": "colorized.png",
                "candidates": "candidates.png", "saliency": "saliency.png",
                "readme": "README.txt", "index": "index.html"}
    }
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tinct.color.lab import lab_to_rgb
from tinct.colorizer import DEFAULT_BALANCE, DEFAULT_SIZE, DEFAULT_TEMPERATURE, prepare
from tinct.interpret.core import Explanation, explain
from tinct.interpret.render import fit_size, outline_regions, render_colorbar, render_heatmap, render_swatches
from tinct.io import atomic_write, find_images, imread, imwrite

__all__ = ["run_explain", "report_dict", "validate_report", "SCHEMA", "FILES"]

SCHEMA = "tinct.interpret/1"
FILES = {"uncertainty": "uncertainty.png", "colorized": "colorized.png", "candidates": "candidates.png",
         "saliency": "saliency.png", "json": "suggestions.json", "readme": "README.txt", "index": "index.html"}
DISPLAY = 1280  # long side of the explanatory pictures (colorized.png keeps full size)

_TOP_KEYS = {"schema": str, "source": str, "width": int, "height": int, "model": str, "weights": str,
             "size": int, "temperature": float, "k": int, "num_bins": int, "max_entropy_bits": float,
             "entropy_bits": dict, "regions": list, "point": (dict, type(None)), "saliency": dict, "files": dict}
_REGION_KEYS = {"id": int, "centroid": list, "bbox": list, "area_fraction": float, "mean_l": float,
                "entropy_bits": float, "candidates": list}
_OPTIONAL_KEYS = {"levels": bool, "balance": float}  # added after the first reports: absent = False / 0
_CANDIDATE_KEYS = {"hex": str, "rgb": list, "ab": list, "probability": float}

README = """\
tinct explain: {source}
{underline}

model {model} ({weights}), working size {size}, temperature {temperature}, top {k} colours{levels}.

How the network works: for every small patch of the photo (4 x 4 pixels at the working
size) it predicts a probability distribution over {q} ab colours (chroma/hue at the
photo's own lightness). colorized.png shows one colour decoded from each distribution
(the annealed mean). The other pictures show the rest of the distribution.

uncertainty.png
    Entropy of the distribution, in bits, over the gray photo. 0 bits would mean all
    probability on one colour, log2({q}) = {hmax:.2f} bits probability spread evenly over
    all colours; 2^H is roughly "how many colours the network is choosing between". The
    colours are stretched to this photo (bar: its 1st to 99th percentile, {lo:.2f} to
    {hi:.2f} bits): dark purple = where the network is surest, pale yellow = least sure.
    Compare photos by the numbers, not the colours: this photo's mean is {hmean:.2f} bits,
    10-90 % of its pixels lie between {h10:.2f} and {h90:.2f} bits.
    Uncertainty is not error: a confident colour can be wrong (a red car painted
    blue-gray with confidence), and an uncertain one can be right by luck. High entropy
    means "several colours are plausible here", which is where a colour hint helps most.

colorized.png
    The automatic colorization, at the photo's full size.

candidates.png
    Left: the photo cut into {nreg} regions (outlined, numbered). Right: for each region
    the {k} most likely distinct colours of its mean distribution, drawn at the region's
    mean lightness, with their probability. Neighbouring colour bins are merged into the
    more likely one, so the percentages of a row sum to at most 100 %; what is missing is
    spread over other colours. A row with one large swatch is a confident region; a row of
    small percentages is an uncertain one.

saliency.png
    Which part of the photo drove the predicted colour of the outlined target
    ({target}): the smoothed size of the gradient of the target's prediction with
    respect to the input lightness, scaled to 0..1 (pale yellow = most influential).
    It shows sensitivity, not cause: changing the photo there would change the
    prediction most.

suggestions.json
    The numbers behind candidates.png (schema {schema}); see docs/explain.md.
"""


def _weights_name(model: str) -> str:
    if model == "default":
        from tinct.models._weights import shipped_weights

        return shipped_weights().name
    return Path(model).name


def _gray_rgb(light: np.ndarray) -> np.ndarray:
    lab = np.stack([light, np.zeros_like(light), np.zeros_like(light)], axis=-1)
    return (lab_to_rgb(lab) * 255 + 0.5).astype(np.uint8)


def _resize(rgb: np.ndarray, shape: tuple[int, int], *, nearest: bool = False) -> np.ndarray:
    if rgb.shape[:2] == shape:
        return rgb
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(rgb).resize((shape[1], shape[0]), method))


def _stack(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    w = max(top.shape[1], bottom.shape[1])
    out = np.full((top.shape[0] + bottom.shape[0], w, 3), 255, np.uint8)
    out[: top.shape[0], : top.shape[1]] = top
    out[top.shape[0]:, : bottom.shape[1]] = bottom
    return out


def _side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 8) -> np.ndarray:
    h = max(left.shape[0], right.shape[0])
    out = np.full((h, left.shape[1] + gap + right.shape[1], 3), 255, np.uint8)
    out[: left.shape[0], : left.shape[1]] = left
    out[: right.shape[0], left.shape[1] + gap:] = right
    return out


def _draw_box(rgb: np.ndarray, box: tuple[int, int, int, int], scale: tuple[float, float],
              point: tuple[int, int] | None = None) -> np.ndarray:
    img = Image.fromarray(rgb)
    d = ImageDraw.Draw(img)
    sy, sx = scale
    x0, y0, x1, y1 = box
    rect = [x0 * sx, y0 * sy, max(x0 * sx, x1 * sx - 1), max(y0 * sy, y1 * sy - 1)]
    d.rectangle(rect, outline=(0, 0, 0), width=4)
    d.rectangle(rect, outline=(0, 255, 255), width=2)
    if point is not None:
        px, py = (point[0] + 0.5) * sx, (point[1] + 0.5) * sy
        d.ellipse([px - 4, py - 4, px + 4, py + 4], outline=(0, 0, 0), fill=(0, 255, 255))
    return np.asarray(img)


def report_dict(ex: Explanation, *, source: str, width: int, height: int) -> dict:
    """The ``suggestions.json`` content for an explanation (schema ``tinct.interpret/1``)."""
    p10, p50, p90 = (float(v) for v in np.percentile(ex.entropy, [10, 50, 90]))
    return {
        "schema": SCHEMA, "source": source, "width": int(width), "height": int(height),
        "model": ex.model, "weights": _weights_name(ex.model), "size": ex.size,
        "temperature": float(ex.temperature), "levels": ex.levels, "balance": ex.balance,
        "k": ex.k, "num_bins": ex.num_bins,
        "max_entropy_bits": round(ex.max_entropy, 4),
        "entropy_bits": {"mean": round(float(ex.entropy.mean()), 4), "p10": round(p10, 4),
                         "p50": round(p50, 4), "p90": round(p90, 4)},
        "regions": [r.to_dict() for r in ex.regions],
        "point": None if ex.point is None else {"x": ex.point[0], "y": ex.point[1],
                                                "suggestions": [s.to_dict() for s in ex.point_suggestions]},
        "saliency": {"target": ex.saliency_target, "box": None if ex.saliency_box is None else list(ex.saliency_box)},
        "files": {name: FILES[name] for name in ("uncertainty", "colorized", "candidates", "saliency", "readme",
                                                 "index")},
    }


def _check_type(value: object, kind: type | tuple, where: str) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        kinds = (*kinds, int)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):  # bool is an int
        raise ValueError(f"{where}: expected {' or '.join(k.__name__ for k in kinds)}, got {type(value).__name__}")


def validate_report(data: dict) -> None:
    """Raise ValueError unless ``data`` follows the ``tinct.interpret/1`` schema (keys and types)."""
    _check_type(data, dict, "report")
    missing = set(_TOP_KEYS) - set(data)
    if missing:
        raise ValueError(f"report: missing keys {sorted(missing)}")
    for key, kind in _TOP_KEYS.items():
        _check_type(data[key], kind, key)
    for key, kind in _OPTIONAL_KEYS.items():
        if key in data:
            _check_type(data[key], kind, key)
    if data["schema"] != SCHEMA:
        raise ValueError(f"schema: expected {SCHEMA!r}, got {data['schema']!r}")
    for key in ("mean", "p10", "p50", "p90"):
        _check_type(data["entropy_bits"].get(key), float, f"entropy_bits.{key}")

    def candidates(items: list, where: str) -> None:
        total = 0.0
        for j, c in enumerate(items):
            _check_type(c, dict, f"{where}[{j}]")
            for key, kind in _CANDIDATE_KEYS.items():
                _check_type(c.get(key), kind, f"{where}[{j}].{key}")
            if len(c["rgb"]) != 3 or len(c["ab"]) != 2 or not 0 <= c["probability"] <= 1:
                raise ValueError(f"{where}[{j}]: rgb needs 3 values, ab 2, probability in [0, 1]")
            total += c["probability"]
        if total > 1 + 1e-3:
            raise ValueError(f"{where}: probabilities sum to {total:.4f} > 1")

    for i, region in enumerate(data["regions"]):
        _check_type(region, dict, f"regions[{i}]")
        for key, kind in _REGION_KEYS.items():
            _check_type(region.get(key), kind, f"regions[{i}].{key}")
        if len(region["bbox"]) != 4 or len(region["centroid"]) != 2:
            raise ValueError(f"regions[{i}]: bbox needs 4 values, centroid 2")
        candidates(region["candidates"], f"regions[{i}].candidates")
    if data["point"] is not None:
        for key in ("x", "y"):
            _check_type(data["point"].get(key), int, f"point.{key}")
        _check_type(data["point"].get("suggestions"), list, "point.suggestions")
        candidates(data["point"]["suggestions"], "point.suggestions")
    _check_type(data["saliency"].get("target"), str, "saliency.target")


def _index_html(meta: dict, readme: str) -> str:
    e = html.escape
    figures = [("uncertainty", "Uncertainty (entropy, bits)"), ("colorized", "Colorized"),
               ("candidates", "Candidate colours per region"), ("saliency", "Saliency")]
    body = "\n".join(f'<figure><img src="{FILES[k]}" alt="{e(t)}"><figcaption>{e(t)}</figcaption></figure>'
                     for k, t in figures)
    point = ""
    if meta["point"] is not None:
        chips = "".join(
            f'<span class="chip" style="background:{s["hex"]}">{100 * s["probability"]:.0f}%</span>'
            for s in meta["point"]["suggestions"])
        point = f'<p>Suggestions at ({meta["point"]["x"]}, {meta["point"]["y"]}): {chips}</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinct explain: {e(meta["source"])}</title>
<style>body{{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}}
figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}} img{{max-width:100%;max-height:80vh}}
.chip{{display:inline-block;padding:.2em .6em;margin:0 .2em;border:1px solid #999}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:1em}}</style></head><body>
<h1>{e(meta["source"])}</h1>
<p>{meta["width"]} &times; {meta["height"]} px; model {e(meta["weights"])}; mean entropy
{meta["entropy_bits"]["mean"]:.2f} of {meta["max_entropy_bits"]:.2f} bits. Numbers:
<a href="{FILES["json"]}">{FILES["json"]}</a>.</p>
{point}
{body}
<h2>How to read these pictures</h2>
<pre>{e(readme)}</pre>
</body></html>
"""


def _unique_dirs(paths: Sequence[Path], outdir: Path) -> list[Path]:
    seen: dict[str, int] = {FILES["index"]: 1}  # the top-level page
    out = []
    for p in paths:
        stem = p.stem or "image"
        n = seen.get(stem, 0) + 1
        seen[stem] = n
        out.append(outdir / (stem if n == 1 else f"{stem}-{n}"))
    return out


def write_explanation(ex: Explanation, image: np.ndarray, folder: Path, *, source: str,
                     like: Path | None = None) -> dict:
    """Write the pictures, JSON, README and page of one explanation into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = ex.entropy.shape
    prep = prepare(image)
    disp = fit_size((height, width), DISPLAY)
    scale = (disp[0] / height, disp[1] / width)
    gray = _resize(_gray_rgb(prep.light), disp)
    meta = report_dict(ex, source=source, width=width, height=height)
    hmax = ex.max_entropy
    # uncertainty.png: entropy stretched from its 1st to 99th percentile, colour bar in bits.
    lo, hi = (float(v) for v in np.percentile(ex.entropy, [1, 99]))
    hi = max(hi, lo + 0.05)
    heat = render_heatmap(_resize_plane((ex.entropy - lo) / (hi - lo), disp), gray)
    bar = render_colorbar(disp[1], low=f"{lo:.2f} bits (surer)", high=f"{hi:.2f} bits (less sure)",
                          title=f"entropy, of at most {hmax:.2f} bits; mean {meta['entropy_bits']['mean']:.2f}")
    imwrite(folder / FILES["uncertainty"], _stack(heat, bar))
    # colorized.png: the result at full size, dtype and alpha.
    imwrite(folder / FILES["colorized"], ex.colorized, like=like)
    # candidates.png: regions outlined and numbered beside the swatch legend.
    colour = ex.colorized[..., :3] if ex.colorized.ndim == 3 else ex.colorized
    colour8 = _resize(_to_uint8(colour), disp)
    labels = _resize_labels(ex.labels, disp)
    ids = [(r.id, r.centroid[0] * scale[1], r.centroid[1] * scale[0]) for r in ex.regions]
    outlined = outline_regions(colour8, labels, ids=ids)
    imwrite(folder / FILES["candidates"], _side_by_side(outlined, render_swatches(ex.regions, k=ex.k)))
    # saliency.png: the map over the gray photo, target outlined.
    if ex.saliency is not None:
        sal = render_heatmap(_resize_plane(ex.saliency, disp), gray)
        sal = _draw_box(sal, ex.saliency_box, scale, ex.point)
        bar = render_colorbar(disp[1], low="0 (no influence)", high="1 (most influence)",
                              title="saliency for the outlined target")
        imwrite(folder / FILES["saliency"], _stack(sal, bar))
    atomic_write(folder / FILES["json"], (json.dumps(meta, indent=1) + "\n").encode())
    p10, p90 = meta["entropy_bits"]["p10"], meta["entropy_bits"]["p90"]
    readme = README.format(source=source, underline="=" * len(f"tinct explain: {source}"), model=ex.model,
                           weights=meta["weights"], size=ex.size, temperature=ex.temperature, k=ex.k,
                           levels=", lightness levels stretched (faded photo)" if ex.levels else "",
                           q=ex.num_bins, hmax=hmax, hmean=meta["entropy_bits"]["mean"], h10=p10, h90=p90, lo=lo, hi=hi,
                           nreg=len(ex.regions), target=ex.saliency_target or "none", schema=SCHEMA)
    atomic_write(folder / FILES["readme"], readme.encode())
    atomic_write(folder / FILES["index"], _index_html(meta, readme).encode())
    return meta


def _to_uint8(image: np.ndarray) -> np.ndarray:
    from tinct.io import from_float, to_float

    return image if image.dtype == np.uint8 else from_float(to_float(image), np.uint8)


def _resize_plane(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from tinct.color.upsample import resize_plane

    return resize_plane(plane, shape, resample="box" if shape[0] < plane.shape[0] else "bilinear")


def _resize_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if labels.shape == shape:
        return labels
    im = Image.fromarray(labels.astype(np.int32), mode="I").resize((shape[1], shape[0]), Image.Resampling.NEAREST)
    return np.asarray(im, np.int32)


def run_explain(inputs: Sequence[str | os.PathLike], outdir: str | os.PathLike, *, k: int = 5,
                model: str = "default", size: int = DEFAULT_SIZE, point: tuple[int, int] | None = None,
                temperature: float = DEFAULT_TEMPERATURE, levels: bool = False,
                balance: float = DEFAULT_BALANCE, on_error: Callable[[Path, str], None] | None = None) -> list[Path]:
    """Explain each photo into ``outdir/<stem>/``; returns those folders, in input order.

    Parameters
    ----------
    inputs : list of paths
        Photo files; folders are searched recursively (:func:`tinct.io.find_images`).
    outdir : path
        Created if missing. Photos with the same stem get ``<stem>-2``, ``<stem>-3``, ...
    k : int
        Candidate colours per region (and at ``point``).
    model, size, temperature, levels, balance :
        As in :func:`tinct.colorize`.
    point : (x, y), optional
        A pixel to explain in every photo: its suggestions go into the JSON and the page,
        and the saliency explains it (default: each photo's most uncertain region).
    on_error : callable(path, reason), optional
        Called for a photo that cannot be explained (unreadable, ``point`` outside it), with a
        one-line reason naming it; the others are explained all the same (a batch, as in
        ``tinct colorize``). Without it the first such photo raises.

    Returns
    -------
    list of Path
        One folder per photo explained, holding the files listed in this module's docstring.

    Raises
    ------
    ValueError
        When ``inputs`` holds no images; without ``on_error``, for the first photo that cannot be
        explained (the message names it).
    """
    from tinct.batch import Job, run_one

    paths = list(find_images(inputs))
    if not paths:
        raise ValueError("no images among the inputs")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    def work(job: Job) -> None:
        image = imread(job.source)
        if point is not None:
            h, w = image.shape[:2]
            if not (0 <= point[0] < w and 0 <= point[1] < h):
                raise ValueError(f"point {tuple(point)} is outside the {w}x{h} image")
        ex = explain(image, model=model, size=size, k=k, temperature=temperature, point=point, levels=levels,
                     balance=balance)
        write_explanation(ex, image, job.output, source=job.source.name, like=job.source)

    done: list[tuple[Path, Path]] = []
    for path, folder in zip(paths, _unique_dirs(paths, outdir), strict=True):
        reason = run_one(Job(path, folder), work)
        if reason is not None:
            if on_error is None:
                raise ValueError(reason)
            on_error(path, reason)
            continue
        done.append((path, folder))
    links = "\n".join(f'<li><a href="{html.escape(f.name)}/{FILES["index"]}">{html.escape(p.name)}</a></li>'
                      for p, f in done)
    page = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>tinct explain</title></head>'
            f"<body><h1>tinct explain</h1><ul>\n{links}\n</ul></body></html>\n")
    atomic_write(outdir / FILES["index"], page.encode())
    return [folder for _, folder in done]
