"""Baseline: photo → photo with the raw ImageNet features of the image tower (no head, no index).

    python bench/eval/raw_features.py --catalog var/eval/test/styles.csv \
        --queries var/eval/test/photos.jsonl --json var/eval/raw_features.json

EfficientNet-Lite0's pooled 1280-d features, L2-normalised, exact cosine search in numpy. It is
the ceiling the `base` head (a 1280 → 256 projection) starts from, and the floor a trained image
head should not fall below on photos.jsonl. Scored with the same metrics as `clipshoe eval`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from encoder.dual import TowerEncoder
from encoder.evaluation.metrics import K, hit_curve, mean_curve, mean_metrics, query_metrics
from encoder.evaluation.query_file import read_queries
from ingest.feeds import read_feed
from ingest.records import ProductRecord


@torch.no_grad()
def raw_features(paths: list[str], batch_size: int = 64) -> np.ndarray:
    encoder = TowerEncoder(device="cpu")
    tower, transform = encoder.image_tower.eval(), encoder.image_transform(train=False)
    out = []
    for i in range(0, len(paths), batch_size):
        pixels = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths[i : i + batch_size]])
        out.append(torch.nn.functional.normalize(tower(pixels), dim=-1).numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    records = [r for r in read_feed(args.catalog) if isinstance(r, ProductRecord) and r.image]
    ids = [r.source_id for r in records]
    index = raw_features([r.image for r in records])  # type: ignore[misc]
    queries = [q for q in read_queries(args.queries) if q.image is not None]
    qvecs = raw_features([str(q.image) for q in queries])
    scores = qvecs @ index.T
    per_query, curves = [], []
    for q, row in zip(queries, scores, strict=True):
        top = np.argsort(-row)[: K + len(q.exclude)]
        ranking = [ids[i] for i in top]
        per_query.append(query_metrics(ranking, q.relevant, q.exclude))
        curves.append(hit_curve(ranking, q.relevant, q.exclude))
    result = {
        "model": "raw-imagenet-efficientnet-lite0",
        "mode": "image",
        "queries": len(queries),
        "metrics": {k: round(v, 6) for k, v in mean_metrics(per_query).items()},
        "query_set": args.queries.stem,
        "acc_curve": [round(v, 6) for v in mean_curve(curves)],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
