"""What every feed reader produces: a validated `ProductRecord`, or a `FeedError` for one bad row.

Readers yield `ProductRecord | FeedError` so one bad row is reported and the feed goes on.
Records arrive normalised (see `ingest.normalise`): brand in display form, gender, colour and
category in the canonical vocabularies, price a plain number in `currency`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.normalise import (
    brand_key,
    normalise_brand,
    normalise_category,
    normalise_colour,
    normalise_gender,
    normalise_text,
    parse_price,
)


class FeedFormatError(Exception):
    """The whole file cannot be read as a feed (missing, unreadable, unknown layout)."""


@dataclass(frozen=True)
class FeedError:
    """One row that could not become a product. `line` is 1-based in the file."""

    line: int
    source_id: str | None
    reason: str


def open_feed(path: Path, binary: bool = False) -> IO[Any]:
    """A feed file opened as every reader (and its counter) reads it: bytes, or text with a BOM
    dropped and undecodable bytes kept as surrogates (a reader reports those rows); FeedFormatError
    when it cannot be opened."""
    try:
        if binary:
            return path.open("rb")
        return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise FeedFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def csv_rows(reader: Any) -> Iterator[tuple[int, Any] | FeedError]:
    """(line where the row begins, row) from a csv reader; a malformed row becomes a FeedError
    and reading goes on (rows may span lines, so the line is taken before each row)."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield FeedError(start, None, f"malformed CSV: {exc}")
            continue
        yield start, row


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class ProductRecord(BaseModel):
    """One product listing, as the catalogue stores it."""

    # Feeds give ids as numbers as often as strings; both mean the same listing.
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")

    source: str = Field(min_length=1, description='Where it comes from: "myntra", "shopee", "feed", …')
    source_id: str = Field(min_length=1, description="The listing's id within its source.")
    title: str
    brand: str | None = None
    price: float | None = Field(None, ge=0, description="List price in `currency`; None when unknown.")
    stock: int | None = Field(None, ge=0, description="Units on hand; None when the feed does not say.")
    currency: str = "VND"
    category: str | None = None
    gender: str | None = None
    colour: str | None = None
    description: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    image: str | None = Field(None, description="Absolute local path or http(s) URL.")
    url: str | None = None

    @field_validator("source_id", "title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("price")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("image")
    @classmethod
    def _image_ref(cls, value: str | None) -> str | None:
        if value is not None and not (is_url(value) or Path(value).is_absolute()):
            raise ValueError("must be an absolute path or an http(s) URL")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not is_url(value):
            raise ValueError("must be an http(s) URL")
        return value

    @property
    def brand_key(self) -> str | None:
        """Case- and accent-free brand, what brand filters compare."""
        return brand_key(self.brand) if self.brand else None


def resolve_image(value: str | None, base_dir: Path) -> str | None:
    """A feed's image reference as ProductRecord wants it: URL kept, relative path made absolute."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if is_url(value) or "://" in value:
        return value  # another scheme (ftp://, data://) stays as given, for the record to refuse
    path = Path(value)
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def validation_reason(error: ValidationError) -> str:
    """A pydantic error as one short line: "missing field 'title'; price: must be ≥ 0"."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "record"
        if item["type"] == "missing":
            parts.append(f"missing field '{field}'")
        elif item["type"] == "extra_forbidden":
            parts.append(f"unknown field '{field}'")
        else:
            parts.append(f"{field}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


_CANONICAL = {"gender": normalise_gender, "colour": normalise_colour, "category": normalise_category}


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name}: expected text, got {type(value).__name__}")
    return normalise_text(str(value)) or None


def build_record(line: int, fields: dict[str, Any], base_dir: Path) -> ProductRecord | FeedError:
    """Normalise one row's raw fields (ProductRecord's names) into a record, or say why not.

    Gender, colour and category values the tables do not know are kept under
    attributes["unmapped"] rather than dropped, so a table gap is visible and fixable.
    """
    raw_id = fields.get("source_id")
    source_id = None if raw_id is None else str(raw_id).strip() or None
    try:
        currency = (_text("currency", fields.get("currency")) or "VND").upper()
        try:
            price = parse_price(fields.get("price"), currency)
        except ValueError as exc:
            return FeedError(line, source_id, f"bad price: {exc}")
        attributes = fields.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ValueError(f"attributes: expected an object, got {type(attributes).__name__}")
        attributes = dict(attributes)
        values: dict[str, Any] = {k: v for k, v in fields.items() if k not in ("attributes", "price")}
        for name in ("title", "brand", "description", "url", "source"):
            values[name] = _text(name, fields.get(name))
        values["brand"] = normalise_brand(values["brand"])
        unmapped = {}
        for name, canonical in _CANONICAL.items():
            raw = _text(name, fields.get(name))
            values[name] = canonical(raw)
            if raw and values[name] is None:
                unmapped[name] = raw
        values["image"] = resolve_image(_text("image", fields.get("image")), base_dir)
    except (ValueError, TypeError) as exc:
        return FeedError(line, source_id, f"bad value: {exc}")
    if unmapped:
        attributes["unmapped"] = unmapped
    # Feeds write 0 for "no price"; a free shoe would be a data error, not a bargain.
    values |= {"currency": currency, "price": price or None, "attributes": attributes}
    values = {k: v for k, v in values.items() if v is not None or k not in ("title", "source_id")}
    try:
        return ProductRecord(**values)
    except ValidationError as exc:
        return FeedError(line, source_id, validation_reason(exc))
