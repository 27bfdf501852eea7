"""Encoder throughput by batch size, against a naive per-item loop and the machine's compute ceiling.

    python bench/bench_encoder.py --model default                    # CPU, batches 1..128
    python bench/bench_encoder.py --model default --device cuda --batches 32,128,512

For each batch size: images/s and texts/s on real photos and titles (decoded outside the timed
loop). The naive loop is `encode([item])` per item. The ceiling: the fp32 matmul peak measured
here (a square matmul on every thread) and the model's FLOPs per item (torch's FLOP counter),
so ``ceiling items/s = peak FLOP/s ÷ FLOPs per item``; the ratio shows how much of the machine a
batch size uses. JSON on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from encoder.dual import TowerEncoder
from encoder.registry import create_encoder

DATA = Path(os.environ.get("CLIPSHOE_BENCH_DATA", "../shared/data/myntra-footwear"))


def matmul_peak(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """fp32 FLOP/s of a square matmul (the best of ``repeats``)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best


def flops_per_item(encoder: TowerEncoder, image: Image.Image, title: str) -> tuple[float, float]:
    with torch.inference_mode():
        pixels = torch.stack([encoder.image_transform()(image)] * 8)
        with FlopCounterMode(display=False) as counter:
            encoder.image_features(pixels)
        image_flops = counter.get_total_flops() / 8
        with FlopCounterMode(display=False) as counter:
            encoder.text_features([title] * 8)
        text_flops = counter.get_total_flops() / 8
    return image_flops, text_flops


def rate(encode, items: list, batch: int) -> float:
    encode(items[:batch], batch)  # warm: allocator and kernels for this shape
    t = time.perf_counter()
    encode(items, batch)
    return len(items) / (time.perf_counter() - t)


def naive_rate(encode, items: list) -> float:
    encode(items[:2])
    t = time.perf_counter()
    for item in items:
        encode([item])
    return len(items) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batches", default="1,8,32,64,128")
    ap.add_argument("-n", type=int, default=512, help="items per measurement")
    args = ap.parse_args()
    encoder = create_encoder(args.model, args.device).ensure_loaded()
    files = sorted((DATA / "images").glob("*.jpg"))[: args.n]
    images = [Image.open(f).convert("RGB") for f in files]
    with (DATA / "styles.csv").open(newline="") as handle:
        titles = [row["productDisplayName"] for row in csv.DictReader(handle)][: args.n]
    device = encoder.device
    peak = matmul_peak(device)
    out: dict = {
        "model": encoder.version,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
    }
    if isinstance(encoder, TowerEncoder):
        image_flops, text_flops = flops_per_item(encoder, images[0], titles[0])
        out["gflops_per_image"] = round(image_flops / 1e9, 3)
        out["gflops_per_text"] = round(text_flops / 1e9, 4)
        out["ceiling_images_per_s"] = round(peak / image_flops, 1)
        out["ceiling_texts_per_s"] = round(peak / text_flops, 1)
    naive_n = min(len(images), 128)
    out["naive_loop"] = {
        "images_per_s": round(naive_rate(encoder.encode_images, images[:naive_n]), 1),
        "texts_per_s": round(naive_rate(encoder.encode_texts, titles[:naive_n]), 1),
    }
    out["batched"] = {}
    for batch in (int(b) for b in args.batches.split(",")):
        out["batched"][batch] = {
            "images_per_s": round(rate(encoder.encode_images, images, batch), 1),
            "texts_per_s": round(rate(encoder.encode_texts, titles, batch), 1),
        }
    out["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
