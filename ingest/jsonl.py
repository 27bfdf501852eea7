"""Reader for ClipShoe's generic JSON Lines feed: one product object per line (see FEEDS.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.records import FeedError, ProductRecord, build_record, open_feed

# Common names marketplaces and scrapers use, mapped onto ProductRecord's fields.
ALIASES: dict[str, str] = {"id": "source_id", "name": "title", "color": "colour", "image_url": "image"}
FIELDS: frozenset[str] = frozenset(ProductRecord.model_fields)


def read_jsonl(path: Path, source: str = "feed") -> Iterator[ProductRecord | FeedError]:
    """Yield one record (or FeedError) per non-blank line; a bad line never stops the file."""
    base = path.parent.resolve()
    with open_feed(path, binary=True) as handle:
        for number, raw in _lines(handle):
            yield _line(number, raw, base, source)


def count_jsonl(path: Path) -> int:
    """How many items `read_jsonl` yields, without parsing them (a job's total, up front)."""
    with open_feed(path, binary=True) as handle:
        return sum(1 for _ in _lines(handle))


def _lines(handle: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line: one item each."""
    for number, raw in enumerate(handle, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM some exporters write
        if raw.strip():
            yield number, raw


def _line(number: int, raw: bytes, base: Path, source: str) -> ProductRecord | FeedError:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Name the product if the rest of the line parses, so the error can be traced.
        source_id = _guess_id(raw.decode("utf-8", errors="replace"))
        where = f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
        return FeedError(number, source_id, f"not valid UTF-8: {where}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return FeedError(number, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return FeedError(number, None, f"expected a JSON object, got {type(obj).__name__}")
    return build_record(number, _fields(obj, source), base)


def _fields(obj: dict[str, Any], source: str) -> dict[str, Any]:
    """Map aliases, default the source, and keep unknown keys as attributes rather than drop them."""
    fields: dict[str, Any] = {"source": source}
    extras: dict[str, Any] = {}
    for key, value in obj.items():
        name = ALIASES.get(key, key)
        if name in FIELDS and not (name != key and name in obj):
            fields[name] = value
        elif key != "attributes":
            extras[key] = value  # unknown, or an alias whose canonical field is also given
    attributes = obj.get("attributes") or {}
    # Explicit attributes win over stray top-level keys; a non-object is build_record's to report.
    fields["attributes"] = extras | attributes if isinstance(attributes, dict) else attributes
    if fields.get("source") is None:
        fields["source"] = source
    return fields


def _guess_id(text: str) -> str | None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    value = obj.get("source_id", obj.get("id"))
    return None if value is None else str(value)
