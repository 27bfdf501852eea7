"""Reader for the Kaggle/Myntra `styles.csv` layout, the catalogue format of the evaluation contract.

Prices are INR list prices; `image` and `image_225x300` are relative to the CSV's folder.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.normalise import parse_price
from ingest.records import (
    FeedError,
    FeedFormatError,
    ProductRecord,
    build_record,
    csv_rows,
    open_feed,
    resolve_image,
)

COLUMNS: tuple[str, ...] = (
    "id", "productDisplayName", "brandName", "price", "discountedPrice", "gender", "baseColour",
    "masterCategory", "subCategory", "articleType", "season", "year", "usage", "variantName",
    "articleAttributes", "description", "materials_care", "image_views", "image", "image_225x300",
)  # fmt: skip

# What the contract names; the other columns are optional extras.
REQUIRED: frozenset[str] = frozenset(
    {"id", "productDisplayName", "brandName", "price", "gender", "baseColour", "articleType", "image"}
)

# Columns kept as attributes, under snake_case names.
_ATTRIBUTES = {"season": "season", "usage": "usage", "subCategory": "sub_category"}
_ATTRIBUTES |= {"variantName": "variant_name", "materials_care": "materials_care"}
# surrogateescape turns each undecodable byte into a lone surrogate; finding one marks the row.
_UNDECODED = re.compile("[\udc80-\udcff]")


def check_header(header: list[str] | None, path: Path) -> None:
    if not header:
        raise FeedFormatError(f"{path}: empty file, no CSV header")
    missing = REQUIRED - set(header)
    if missing:
        raise FeedFormatError(f"{path}: not a Myntra styles.csv: header lacks {', '.join(sorted(missing))}")


def read_myntra(path: Path, source: str = "myntra") -> Iterator[ProductRecord | FeedError]:
    """Yield one record (or FeedError) per row; a bad row never stops the file."""
    base = path.parent.resolve()
    with open_feed(path) as handle:
        reader = csv.DictReader(handle)
        check_header(list(reader.fieldnames or []), path)
        width = len(reader.fieldnames or [])
        for item in csv_rows(reader):
            if isinstance(item, FeedError):
                yield item
                continue
            start, row = item
            source_id = (row.get("id") or "").strip() or None
            if None in row:
                yield FeedError(start, source_id, f"row has more columns than the header ({width})")
            elif None in row.values():
                yield FeedError(start, source_id, f"row has fewer columns than the header ({width})")
            elif any(_UNDECODED.search(v) for v in row.values()):
                yield FeedError(start, source_id, "not valid UTF-8")
            else:
                yield build_record(start, _fields(row, base, source), base)


def count_myntra(path: Path) -> int:
    """How many items `read_myntra` yields (one per CSV row, good or bad), without building them."""
    with open_feed(path) as handle:
        return sum(1 for _ in csv_rows(csv.DictReader(handle)))


def _fields(row: dict[str, str], base: Path, source: str) -> dict[str, Any]:
    def get(column: str) -> str | None:
        return (row.get(column) or "").strip() or None

    attributes: dict[str, Any] = {
        name: get(column) for column, name in _ATTRIBUTES.items() if get(column) not in (None, "NA")
    }
    year = get("year")
    if year:
        attributes["year"] = int(year) if year.isdigit() else year
    raw_attributes = get("articleAttributes")
    if raw_attributes:
        try:
            attributes["article_attributes"] = json.loads(raw_attributes)
        except json.JSONDecodeError:
            # A broken extra column is no reason to lose the product: keep the raw text.
            attributes["article_attributes_raw"] = raw_attributes
    large = resolve_image(get("image_225x300"), base)
    if large:
        attributes["image_large"] = large
    sale = _sale_price(get("discountedPrice"), get("price"))
    if sale is not None:
        attributes["sale_price"] = sale
    return {
        "source": source,
        "source_id": get("id"),
        "title": get("productDisplayName"),
        "brand": get("brandName"),
        "price": get("price"),
        "currency": "INR",
        "gender": get("gender"),
        "colour": get("baseColour"),
        "category": get("articleType"),
        "description": get("description"),
        "image": get("image"),
        "attributes": attributes,
    }


def _sale_price(discounted: str | None, price: str | None) -> float | None:
    """The discounted price, when it is a real discount on a known list price."""
    try:
        sale, listed = parse_price(discounted, "INR"), parse_price(price, "INR")
    except ValueError:
        return None
    return sale if sale and listed and sale < listed else None
