"""Make a compact copy of a training folder that trains exactly like the original.

    python tools/compact_data.py ../shared/data/train runs/train-compact --short 224 --quality 82 \
        --format webp --keep catsdogs=500 --keep flowers128=1000

Photos are downscaled to ``--short`` px on their short side (never up) and re-encoded (JPEG or
WebP), keeping their relative folders (a photo's group is its first folder). ``--keep GROUP=N``
keeps N of a group's training photos (chosen by hash) and prints the group weight that keeps
the group's share of the batches: pass it to ``tinct train`` as ``group_weights``. ``tinct train`` splits
train/holdout by a hash of each file's bytes, so the copy keeps every photo in its split:
holdout photos are copied byte for byte, and a training photo whose new bytes would hash into
the holdout is re-encoded one quality step lower until it does not. Used to carry the training
set to a GPU machine whose upload limit is smaller than the folder.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sys
from pathlib import Path

from PIL import Image

from tinct.io import find_images
from tinct.training.config import TrainConfig
from tinct.training.data import split_of


def encode(path: Path, *, short: int, quality: int, fmt: str) -> bytes:
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = short / min(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, fmt.upper(), quality=quality)
        return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--short", type=int, default=224)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--format", choices=["jpeg", "webp"], default="jpeg")
    ap.add_argument("--keep", action="append", default=[], metavar="GROUP=N")
    ap.add_argument("--holdout-fraction", type=float, default=TrainConfig.holdout_fraction)
    args = ap.parse_args()
    f = args.holdout_fraction
    keep = {g: int(n) for g, n in (k.split("=") for k in args.keep)}
    photos = list(find_images([args.data]))
    group_of = {p: p.relative_to(args.data).parts[0] for p in photos}
    train = {p for p in photos if split_of(p, f) == "train"}
    drop = set()
    for group, n in keep.items():
        members = sorted((p for p in train if group_of[p] == group),
                         key=lambda p: hashlib.sha1(p.name.encode()).digest())
        drop |= set(members[n:])
        print(f"{group}: {min(n, len(members))} of {len(members)} training photos; multiply its group weight "
              f"by {len(members) / min(n, len(members)):.3f}")
    total, moved = 0, 0
    for path in photos:
        if path in drop:
            continue
        dest = args.out / path.relative_to(args.data)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path not in train:
            shutil.copyfile(path, dest)
        else:
            dest = dest.with_suffix("." + args.format.replace("jpeg", "jpg"))
            for q in range(args.quality, args.quality - 20, -1):
                encoded = encode(path, short=args.short, quality=q, fmt=args.format)
                if split_of(encoded, f) == "train":
                    dest.write_bytes(encoded)
                    break
                moved += 1
            else:
                print(f"{path}: every quality hashes into the holdout", file=sys.stderr)
                return 1
        total += dest.stat().st_size
    print(f"{args.out}: {total / 2**20:.1f} MiB; {moved} re-encodes kept photos out of the holdout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
