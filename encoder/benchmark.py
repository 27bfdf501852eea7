"""Throughput of any encoder on real photos and titles: ``python -m encoder.benchmark``.

Kept beside the encoders (not in tests) because timings depend on the machine and its
load; run it on an idle machine, and under the GLIBC_TUNABLES setting documented in
``encoder/towers.py`` for CPU workers.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import torch
from PIL import Image

from encoder.registry import create_encoder

DATA = Path("/work/shared/data/myntra-footwear")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="base")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=Path, default=DATA / "images")
    parser.add_argument("--titles", type=Path, default=DATA / "styles.csv")
    parser.add_argument("-n", type=int, default=256, help="images to encode (titles: 4×)")
    args = parser.parse_args()

    encoder = create_encoder(args.model, args.device).ensure_loaded()
    files = sorted(args.images.glob("*.jpg"))[: args.n + args.batch_size]
    images = [Image.open(f).convert("RGB") for f in files]  # decode outside the timed loop
    with args.titles.open(newline="") as handle:
        titles = [row["productDisplayName"] for row in csv.DictReader(handle)][: 4 * args.n + args.batch_size]
    warm, size = args.batch_size, args.batch_size
    encoder.encode_images(images[:warm], size)  # first batch pays for allocator and kernel warm-up
    encoder.encode_texts(titles[:warm], size)

    print(f"{encoder.name} {encoder.version} on {encoder.device}, {torch.get_num_threads()} threads, "
          f"GLIBC_TUNABLES={'set' if os.environ.get('GLIBC_TUNABLES') else 'unset'}")  # fmt: skip
    for label, items, encode in (("images", images[warm:], encoder.encode_images),
                                 ("texts", titles[warm:], encoder.encode_texts)):  # fmt: skip
        start = time.perf_counter()
        encode(items, size)
        seconds = time.perf_counter() - start
        print(f"{label}: {len(items)} in {seconds:.1f} s = {len(items) / seconds:.1f}/s at batch {size}")


if __name__ == "__main__":
    main()
