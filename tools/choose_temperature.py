"""Choose the default temperature, balance and working size on held-out *training* photos (never val).

    python tools/choose_temperature.py HOLDOUT_DIR --model PATH [--temperatures T ...] [--work-sizes S ...]
        [--balances B ...] [--saturations S ...]

HOLDOUT_DIR holds the photos `tinct train` kept out by hash (holdout_fraction). For each
(working size, temperature, balance, saturation) the photos are colorized and scored; the model card
states the rule used to pick the defaults from this table (``pick_default`` in fill_model_card.py
reads its columns by their header).
"""

from __future__ import annotations

import argparse
import itertools

from tinct.evaluate import evaluate

TEMPERATURES = (0.7, 1.0, 1.25, 1.6)  # the grid of the model card's table
WORK_SIZES = (160, 192, 224)
BALANCES = (0.0, 0.05, 0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--model", default="default")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--temperatures", type=float, nargs="+", default=TEMPERATURES)
    ap.add_argument("--work-sizes", type=int, nargs="+", default=WORK_SIZES)
    ap.add_argument("--balances", type=float, nargs="+", default=BALANCES)
    ap.add_argument("--saturations", type=float, nargs="+", default=[1.0])
    args = ap.parse_args()
    auto = f"auto:{args.model}"
    gray = evaluate([args.data], ["gray"], size=args.size, semantic=False).summary["gray"]
    sat = args.saturations != [1.0]  # the sat column only when it varies
    print(f"{'work':>5} {'T':>5} {'bal':>5}{'  sat' if sat else ''} {'PSNR':>7} {'AuC':>7} {'AuC-rb':>7} "
          f"{'CF':>7} {'dCF':>7}")
    print(f"{'gray':>{22 if sat else 17}} {gray['psnr']:7.2f} {gray['auc']:7.2f} {gray['auc_rebalanced']:7.2f} "
          f"{gray['colorfulness']:7.2f} {gray['delta_colorfulness']:7.2f}", flush=True)
    for work in args.work_sizes:
        for t, b, k in itertools.product(args.temperatures, args.balances, args.saturations):
            s = evaluate([args.data], [auto], size=args.size, semantic=False, temperature=t, saturation=k,
                         balance=b, work_size=work).summary[auto]
            print(f"{work:>5} {t:>5} {b:>5}{f' {k:>4g}' if sat else ''} {s['psnr']:7.2f} {s['auc']:7.2f} "
                  f"{s['auc_rebalanced']:7.2f} {s['colorfulness']:7.2f} {s['delta_colorfulness']:7.2f}", flush=True)

if __name__ == "__main__":
    main()
