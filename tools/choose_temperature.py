"""Choose the default temperature and working size on held-out *training* photos (never val).

    python tools/choose_temperature.py HOLDOUT_DIR --model PATH [--temperatures T ...] [--work-sizes S ...]

HOLDOUT_DIR holds the photos `tinct train` kept out by hash (holdout_fraction). For each
(working size, temperature) the photos are colorized and scored; the model card states the
rule used to pick the defaults from this table.
"""

from __future__ import annotations

import argparse

from tinct.evaluate import evaluate

TEMPERATURES = (0.38, 0.5, 0.7, 1.0)
WORK_SIZES = (192, 256)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--model", default="default")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--temperatures", type=float, nargs="+", default=TEMPERATURES)
    ap.add_argument("--work-sizes", type=int, nargs="+", default=WORK_SIZES)
    args = ap.parse_args()
    auto = f"auto:{args.model}"
    gray = evaluate([args.data], ["gray"], size=args.size, semantic=False).summary["gray"]
    print(f"{'work':>5} {'T':>5} {'PSNR':>7} {'AuC':>7} {'AuC-rb':>7} {'CF':>7} {'dCF':>7}")
    print(f"{'gray':>11} {gray['psnr']:7.2f} {gray['auc']:7.2f} {gray['auc_rebalanced']:7.2f} "
          f"{gray['colorfulness']:7.2f} {gray['delta_colorfulness']:7.2f}", flush=True)
    for work in args.work_sizes:
        for t in args.temperatures:
            s = evaluate([args.data], [auto], size=args.size, semantic=False, temperature=t,
                         work_size=work).summary[auto]
            print(f"{work:>5} {t:>5} {s['psnr']:7.2f} {s['auc']:7.2f} {s['auc_rebalanced']:7.2f} "
                  f"{s['colorfulness']:7.2f} {s['delta_colorfulness']:7.2f}", flush=True)


if __name__ == "__main__":
    main()
