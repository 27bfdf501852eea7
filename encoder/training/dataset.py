"""Catalogue → image–text pairs: a JSON Lines manifest the trainer reads.

One row per product with a usable photo: id, split, photo path and sha256, the structured
fields, and its captions (English + Vietnamese). Photos are referenced by path, never copied,
so a manifest built from the shared read-only catalogue holds no image data.

The split comes from `assign_splits` keyed on product id and photo sha256: byte-identical
photos share a split, so a photo seen in training never reappears in validation or test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from encoder.training.prompts import captions
from encoder.training.split import assign_splits
from ingest.feeds import read_feed
from ingest.records import FeedError, ProductRecord, is_url

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"


def photo_sha256(path: Path) -> str | None:
    """sha256 of a photo that opens as an image, else None (missing, truncated, not an image)."""
    try:
        data = path.read_bytes()
        with Image.open(path) as image:
            image.load()  # verify() misses truncated JPEGs; a full decode does not
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return hashlib.sha256(data).hexdigest()


def product_row(record: ProductRecord, sha: str) -> dict[str, Any]:
    """The manifest fields of one product (split and captions are added by the builder)."""
    return {
        "id": record.source_id,
        "image": record.image,
        "sha256": sha,
        "title": record.title,
        "brand": record.brand,
        "category": record.category,
        "colour": record.colour,
        "gender": record.gender,
        "attributes": {"usage": record.attributes.get("usage")},
        "description": record.description,
    }


def build_rows(records: Iterable[ProductRecord | FeedError], seed: int = 0) -> tuple[list[dict], Counter]:
    """Rows for products with a local, decodable photo; counts of what was skipped and why."""
    skipped: Counter = Counter()
    rows = []
    for record in records:
        if isinstance(record, FeedError):
            skipped["feed error"] += 1
            continue
        if not record.image or is_url(record.image):
            skipped["no local photo"] += 1
            continue
        sha = photo_sha256(Path(record.image))
        if sha is None:
            skipped["unreadable photo"] += 1
            continue
        rows.append(product_row(record, sha))
    splits = assign_splits((row["id"], row["sha256"]) for row in rows)
    for row in rows:
        row["split"] = splits[row["id"]]
        # Seeded per product: the same catalogue always gives the same captions.
        rng = random.Random(f"{seed}:{row['id']}")
        row["captions"] = [asdict(caption) for caption in captions(row, rng)]
    return rows, skipped


def build_dataset(catalog: Path, out: Path, format: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Write ``out/manifest.jsonl`` and ``out/summary.json``; return the summary."""
    rows, skipped = build_rows(read_feed(Path(catalog), format), seed)
    out.mkdir(parents=True, exist_ok=True)
    with (out / MANIFEST).open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = {
        "catalog": str(Path(catalog).resolve()),
        "products": len(rows),
        "splits": dict(Counter(row["split"] for row in rows)),
        "captions": sum(len(row["captions"]) for row in rows),
        "skipped": dict(skipped),
        "seed": seed,
    }
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    log.info("dataset: %s", summary)
    return summary


def read_manifest(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a manifest file (or of the manifest inside a dataset folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
