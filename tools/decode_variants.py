"""Score decoding variants of one network on the same logits (held-out *training* photos, not val).

    python tools/decode_variants.py HOLDOUT_DIR --model PATH [--second PATH] [--work-size 192] [--upsampling]

Rows: the annealed mean at several temperatures; mirror test-time augmentation (mean
log-probabilities of the photo and its mirror image); the geometric median of the distribution;
logit adjustment ``softmax((z - alpha log prior) / T)`` (Menon et al., "Long-tail learning via
logit adjustment", ICLR 2021) with the training prior stored in the weight file; and, with
``--second``, their ensemble (the weight file ``tinct export A B`` writes: mean log-probabilities)
and the network whose weights are the mean of theirs (a weight average; only for two networks of
the same architecture, meaningful for runs from the same start). ``--upsampling`` adds rows for the
chroma upsampling at T = 1 and 1.25: guided-filter windows of radius 0 (bilinear), 1, 2 and 3 on the
logits' grid, and the filter run on a grid 2x / 4x finer (ab bilinear there first; radius 2 / 4
there, windows of 2.5 / 2.25 logits cells). The other rows use the shipped radius (UPSAMPLE_RADIUS:
1 since session 8; tables in docs/training.md from before then were made with radius 2).
docs/training.md quotes the table this prints.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.special import log_softmax

from tinct.color.gamut import ab_bins, clip_ab_to_gamut
from tinct.color.lab import lab_to_rgb
from tinct.color.upsample import GuidedRows, guided_coefficients, resize_plane
from tinct.colorizer import Prepared, compose, decode_ab, light_at, prepare
from tinct.colorizer import log_prior as training_log_prior
from tinct.colorizer import predict_logits as balanced_logits
from tinct.evaluate import gray_of, load_photos
from tinct.metrics.auc import ab_error_curve, auc_from_curves, count_ab_bins, inverse_frequency_weights
from tinct.metrics.colorfulness import colorfulness
from tinct.metrics.psnr import psnr
from tinct.models._weights import colour_prior, export_checkpoints, load_model, save_weights

BINS = ab_bins().astype(np.float64)


def geometric_median(z: np.ndarray, iters: int = 20) -> np.ndarray:
    """The ab minimising the expected Euclidean distance under softmax(z) (Weiszfeld iterations)."""
    q, h, w = z.shape
    p = np.exp(log_softmax(z, axis=0)).reshape(q, -1).T
    y = p @ BINS
    for _ in range(iters):
        weights = p / np.maximum(np.linalg.norm(y[:, None] - BINS[None], axis=2), 1e-3)
        y = weights @ BINS / weights.sum(axis=1, keepdims=True)
    return y.reshape(h, w, 2)


def average_weights(first: str, second: str, folder: Path, *, share: float = 0.5) -> str:
    """A weight file (in ``folder``) whose floating-point tensors are ``(1 - share) * first +
    share * second`` (a two-ingredient model soup, Wortsman et al. 2022)."""
    import copy

    a, b = load_model(first), load_model(second)
    net = copy.deepcopy(a)
    other = b.state_dict()
    net.load_state_dict({k: (1 - share) * v + share * other[k] if v.is_floating_point() else v
                         for k, v in a.state_dict().items()})
    return str(save_weights(net, folder, stem="average", extra=a.extra))


def compose_finer(ab_lo: np.ndarray, prep: Prepared, factor: int, radius: int) -> np.ndarray:
    """Like :func:`compose` (no hints, 8-bit photos), with the guided filter on a grid ``factor`` x
    finer than ab's."""
    assert prep.dtype == np.uint8, "the holdout photos are 8-bit"
    height, width = prep.light.shape
    shape = (min(ab_lo.shape[0] * factor, height), min(ab_lo.shape[1] * factor, width))
    ab = np.stack([resize_plane(ab_lo[..., c], shape) for c in range(2)], axis=-1)
    a, b = guided_coefficients(ab, light_at(prep.light, shape), radius=radius)
    ab = GuidedRows(a, b, (height, width)).ab(prep.light.astype(np.float32), 0)
    rgb = lab_to_rgb(np.concatenate([prep.light[..., None], ab], axis=-1))
    return (rgb * 255 + 0.5).astype(np.uint8)  # as compose() rounds an 8-bit photo


def predict_logits(light: np.ndarray, **kwargs) -> np.ndarray:
    """The network's logits as trained: the rows here add their own adjustments (balance 0)."""
    return balanced_logits(light, balance=0.0, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--model", required=True)
    ap.add_argument("--second", help="a second weight file: adds ensemble rows")
    ap.add_argument("--work-size", type=int, default=192)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--upsampling", action="store_true", help="add rows for the chroma upsampling")
    args = ap.parse_args()
    log_prior = training_log_prior(colour_prior(args.model))[:, None, None]

    def median(z: np.ndarray, light_lo: np.ndarray) -> np.ndarray:
        lab = clip_ab_to_gamut(np.concatenate([light_lo[..., None], geometric_median(z)], axis=-1))
        return lab[..., 1:].astype(np.float32)

    # each variant: (which logits, decoder of (logits, L on their grid) to gamut-clipped ab)
    variants: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {}
    for t in (0.5, 0.7, 1.0):
        variants[f"annealed mean T={t}"] = ("plain", lambda z, lo, t=t: decode_ab(z, lo, temperature=t))
        variants[f"mirror TTA T={t}"] = ("mirror", lambda z, lo, t=t: decode_ab(z, lo, temperature=t))
    variants["geometric median"] = ("plain", median)
    for a in (0.1, 0.2, 0.4):
        variants[f"mirror TTA + logit adjustment a={a} T=1"] = (
            "mirror", lambda z, lo, a=a: decode_ab(z - a * log_prior, lo, temperature=1))
    if args.second:
        for t in (0.5, 0.7, 1.0):
            variants[f"ensemble T={t}"] = ("ensemble", lambda z, lo, t=t: decode_ab(z, lo, temperature=t))
        for t in (0.5, 0.7, 1.0):
            variants[f"weight average T={t}"] = ("average", lambda z, lo, t=t: decode_ab(z, lo, temperature=t))
        folder = Path(tempfile.mkdtemp())
        average = average_weights(args.model, args.second, folder)
        ensemble = str(export_checkpoints([Path(args.model), Path(args.second)], folder))

    # upsampling rows: (temperature, function of (ab on the logits' grid, L there, photo) to the result)
    upsampling: dict[str, tuple[float, Callable[[np.ndarray, np.ndarray, Prepared], np.ndarray]]] = {}
    for t in (1.0, 1.25) if args.upsampling else ():
        for r in (0, 1, 2, 3):
            upsampling[f"T={t}, guided radius {r}"] = (t, lambda ab, lo, prep, r=r: compose(ab, lo, prep, radius=r))
        for f in (2, 4):
            upsampling[f"T={t}, guided radius {f} on a {f}x finer grid"] = (
                t, lambda ab, lo, prep, f=f: compose_finer(ab, prep, f, f))
    photos, _, _ = load_photos([args.data], size=256, limit=args.limit)
    truths = [rgb for _, rgb in photos]
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in [*variants, *upsampling]}
    for rgb in truths:
        prep = prepare(gray_of(rgb))
        z = predict_logits(prep.light, model=args.model, size=args.work_size).astype(np.float64)
        logits = {"plain": z}
        mirror = predict_logits(np.ascontiguousarray(prep.light[:, ::-1]), model=args.model,
                                size=args.work_size).astype(np.float64)[:, :, ::-1]
        logits["mirror"] = (log_softmax(z, axis=0) + log_softmax(mirror, axis=0)) / 2
        if args.second:
            logits["ensemble"] = predict_logits(prep.light, model=ensemble, size=args.work_size).astype(np.float64)
            logits["average"] = predict_logits(prep.light, model=average, size=args.work_size).astype(np.float64)
        light_lo = light_at(prep.light, z.shape[1:])
        for name, (which, decode) in variants.items():
            outputs[name].append(compose(decode(logits[which], light_lo), light_lo, prep))
        for name, (t, upsample) in upsampling.items():
            outputs[name].append(upsample(decode_ab(z, light_lo, temperature=t), light_lo, prep))

    weights = inverse_frequency_weights(count_ab_bins(truths))

    def row(name: str, preds: list[np.ndarray]) -> str:
        plain = auc_from_curves(ab_error_curve(p, t) for p, t in zip(preds, truths, strict=True))
        rebal = auc_from_curves(ab_error_curve(p, t, bin_weights=weights) for p, t in zip(preds, truths, strict=True))
        return (f"| {name} | {np.mean([psnr(p, t) for p, t in zip(preds, truths, strict=True)]):.2f} | {plain:.2f} "
                f"| {rebal:.2f} | {np.mean([colorfulness(p) for p in preds]):.2f} |")

    print(f"{len(truths)} photos, truth colourfulness {np.mean([colorfulness(t) for t in truths]):.2f}")
    print("| variant | PSNR | AuC | AuC rebalanced | colourfulness |\n|---|---|---|---|---|")
    print(row("gray", [gray_of(t) for t in truths]))
    for name, preds in outputs.items():
        print(row(name, preds), flush=True)


if __name__ == "__main__":
    main()
