"""Choose the default annealed-mean temperature on held-out *training* photos (never val).

    python tools/choose_temperature.py HOLDOUT_DIR --model PATH

HOLDOUT_DIR holds the photos `tinct train` kept out by hash (holdout_fraction). For each
temperature the photos are colorized and scored; the printed table is what the model card's
choice is based on: the highest class-rebalanced AuC whose PSNR stays within 0.5 dB of gray.
"""

from __future__ import annotations

import argparse

from tinct.evaluate import evaluate

TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--model", default="default")
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    methods = ["gray", f"auto:{args.model}"]
    print(f"{'T':>5} {'PSNR':>7} {'AuC':>7} {'AuC-rb':>7} {'CF':>7} {'dCF':>7}")
    gray = None
    for t in TEMPERATURES:
        ev = evaluate([args.data], methods, size=args.size, semantic=False, temperature=t)
        gray = ev.summary["gray"]
        s = ev.summary[methods[1]]
        print(f"{t:>5} {s['psnr']:7.2f} {s['auc']:7.2f} {s['auc_rebalanced']:7.2f} {s['colorfulness']:7.2f} "
              f"{s['delta_colorfulness']:7.2f}", flush=True)
    print(f"{'gray':>5} {gray['psnr']:7.2f} {gray['auc']:7.2f} {gray['auc_rebalanced']:7.2f} "
          f"{gray['colorfulness']:7.2f} {gray['delta_colorfulness']:7.2f}")


if __name__ == "__main__":
    main()
