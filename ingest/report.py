"""Summarise a feed before loading it: counts, errors by reason, vocabularies, photo checks.

`python -m ingest.report PATH [--images]` prints the summary as JSON, so a new feed's table
gaps and bad photos show up before anything reaches the catalogue.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.feeds import read_feed
from ingest.images import ImageRejected, validate_image
from ingest.records import FeedError, ProductRecord, is_url

_DETAIL = re.compile(r":.*$")


def summarise_feed(
    path: Path, *, format: str | None = None, images: bool = False, max_bytes: int = 10 * 1024 * 1024,
    max_pixels: int = 40_000_000,
) -> dict[str, Any]:  # fmt: skip
    """Read the whole feed; with `images`, validate every local photo too (nothing is stored)."""
    records = errors = 0
    reasons: Counter[str] = Counter()
    values: dict[str, Counter[str]] = {f: Counter() for f in ("brand", "category", "gender", "colour")}
    unmapped: dict[str, Counter[str]] = {f: Counter() for f in ("category", "gender", "colour")}
    photos: Counter[str] = Counter()
    for item in read_feed(path, format=format):
        if isinstance(item, FeedError):
            errors += 1
            reasons[_DETAIL.sub("", item.reason)] += 1
            continue
        records += 1
        for name, counter in values.items():
            counter[str(getattr(item, name))] += 1
        for name, raw in item.attributes.get("unmapped", {}).items():
            unmapped[name][raw] += 1
        if images:
            photos[_photo_status(item, max_bytes, max_pixels)] += 1
    return {
        "records": records,
        "feed_errors": errors,
        "errors_by_reason": dict(reasons.most_common()),
        "distinct": {name: len(counter) for name, counter in values.items()},
        "values": {name: dict(counter.most_common()) for name, counter in values.items()},
        "unmapped": {name: dict(counter) for name, counter in unmapped.items() if counter},
        "images": dict(photos.most_common()) if images else None,
    }


def _photo_status(record: ProductRecord, max_bytes: int, max_pixels: int) -> str:
    if record.image is None:
        return "no image"
    if is_url(record.image):
        return "remote (downloaded when ingested)"
    try:
        validate_image(Path(record.image), max_bytes=max_bytes, max_pixels=max_pixels)
    except ImageRejected as exc:
        return f"rejected: {_DETAIL.sub('', exc.reason)}"
    return "ok"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--format", default=None)
    parser.add_argument("--images", action="store_true", help="validate every local photo")
    args = parser.parse_args(argv)
    summary = summarise_feed(args.path, format=args.format, images=args.images)
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
