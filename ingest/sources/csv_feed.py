"""Reader for ClipShoe's generic CSV feed: the JSONL feed's fields as columns (ingest/FEEDS.md §3).

Header names are matched case-insensitively and may use the JSONL aliases (`id`, `name`,
`color`, `image_url`); `attributes` holds a JSON object; any other column is kept in
`attributes`. Empty cells mean "not given". Comma, semicolon or tab separated, as the header
line shows; UTF-8 with or without a BOM.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

# The JSONL reader's alias and extras mapping: the two feeds have the same fields by definition.
from ingest.jsonl import _fields as feed_fields
from ingest.records import FeedError, FeedFormatError, ProductRecord, build_record, csv_rows, open_feed

_ID_COLUMNS = frozenset({"source_id", "id"})
_TITLE_COLUMNS = frozenset({"title", "name"})
_DELIMITERS = (",", ";", "\t")
# surrogateescape turns each undecodable byte into a lone surrogate; finding one marks the row.
_UNDECODED = re.compile("[\udc80-\udcff]")


def header_columns(header: list[str]) -> list[str]:
    return [name.strip().lower() for name in header]


def is_feed_header(header: list[str]) -> bool:
    """True when a CSV header has the feed's two required columns (an id and a title)."""
    names = set(header_columns(header))
    return bool(names & _ID_COLUMNS) and bool(names & _TITLE_COLUMNS)


def sniff_delimiter(first_line: str) -> str:
    return max(_DELIMITERS, key=first_line.count)


def read_csv_feed(path: Path, source: str = "feed") -> Iterator[ProductRecord | FeedError]:
    """Yield one record (or FeedError) per row; a bad row never stops the file."""
    base = path.parent.resolve()
    with open_feed(path) as handle:
        reader, header = _reader(handle, path)
        yield from _rows(reader, header, base, source)


def count_csv_feed(path: Path) -> int:
    """How many items `read_csv_feed` yields, without building them (a job's total, up front)."""
    with open_feed(path) as handle:
        reader, _ = _reader(handle, path)
        return sum(1 for _ in _items(reader))


def _reader(handle: TextIO, path: Path) -> tuple[Any, list[str]]:
    delimiter = sniff_delimiter(handle.readline())
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter)
    header = header_columns(next(reader, []))
    if not is_feed_header(header):
        raise FeedFormatError(f"{path}: not a ClipShoe CSV feed: needs an id and a title column")
    return reader, header


def _items(reader: Any) -> Iterator[tuple[int, list[str]] | FeedError]:
    """The rows that are items (blank lines are not), or the malformed ones as FeedErrors."""
    for item in csv_rows(reader):
        if isinstance(item, FeedError) or any(cell.strip() for cell in item[1]):
            yield item


def _rows(reader: Any, header: list[str], base: Path, source: str) -> Iterator[ProductRecord | FeedError]:
    id_column = next(i for i, name in enumerate(header) if name in _ID_COLUMNS)
    for item in _items(reader):
        if isinstance(item, FeedError):
            yield item
            continue
        start, row = item
        source_id = row[id_column].strip() or None if id_column < len(row) else None
        if len(row) != len(header):
            more = "more" if len(row) > len(header) else "fewer"
            yield FeedError(start, source_id, f"row has {more} columns than the header ({len(header)})")
        elif any(_UNDECODED.search(cell) for cell in row):
            yield FeedError(start, source_id, "not valid UTF-8")
        else:
            yield _record(start, dict(zip(header, row, strict=True)), base, source)


def _record(line: int, row: dict[str, str], base: Path, source: str) -> ProductRecord | FeedError:
    obj: dict[str, Any] = {name: value.strip() for name, value in row.items() if value.strip()}
    if "attributes" in obj:
        try:
            obj["attributes"] = json.loads(obj["attributes"])
        except json.JSONDecodeError as exc:
            source_id = obj.get("source_id", obj.get("id"))
            return FeedError(line, source_id, f"bad value: attributes: not JSON ({exc.msg})")
    return build_record(line, feed_fields(obj, source), base)


__all__ = ["count_csv_feed", "is_feed_header", "read_csv_feed", "sniff_delimiter"]
