"""`read_feed`: any supported product feed → `ProductRecord | FeedError`, format auto-detected.

Formats: "myntra" (the Kaggle/Myntra styles.csv layout) and "jsonl" (ClipShoe's generic
feed, documented in ingest/FEEDS.md). A new marketplace adds a reader here, keyed by name.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from ingest.jsonl import read_jsonl
from ingest.myntra import check_header, read_myntra
from ingest.records import FeedError, FeedFormatError, ProductRecord

__all__ = ["FORMATS", "FeedError", "FeedFormatError", "detect_format", "read_feed"]

Reader = Callable[[Path, str], Iterator[ProductRecord | FeedError]]

FORMATS: dict[str, tuple[Reader, str]] = {
    "myntra": (read_myntra, "myntra"),
    "jsonl": (read_jsonl, "feed"),
}
_FORMAT_ALIASES = {"csv": "myntra", "styles": "myntra", "ndjson": "jsonl", "json": "jsonl"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
# A catalogue folder: the file a reader looks for inside it, in order.
_FOLDER_FEEDS = ("styles.csv", "feed.jsonl", "products.jsonl")
_SNIFF_BYTES = 64 * 1024


def read_feed(
    path: Path, format: str | None = None, source: str | None = None
) -> Iterator[ProductRecord | FeedError]:
    """Read a feed file (or a catalogue folder holding one) lazily, one product at a time.

    `source` names where the products come from when the feed does not say (default
    "myntra" for styles.csv, "feed" for JSONL). Raises FeedFormatError at once, before any
    row, when the file is missing, unreadable or in no known layout.
    """
    path = _feed_file(Path(path))
    name = _format_name(format) if format else detect_format(path)
    if name == "myntra":
        # Check the header now: a generator would only raise on the caller's first next().
        check_header(_first_csv_row(path), path)
    reader, default_source = FORMATS[name]
    return reader(path, source or default_source)


def detect_format(path: Path) -> str:
    """ "jsonl" for .jsonl/.ndjson or content starting with "{", "myntra" for a styles.csv header."""
    head = _sniff(path)
    if b"\x00" in head:
        raise FeedFormatError(f"{path}: binary file, not a product feed")
    if path.suffix.lower() in _JSONL_SUFFIXES or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    if not head.strip():
        raise FeedFormatError(f"{path}: empty file")
    check_header(_first_csv_row(path), path)
    return "myntra"


def _feed_file(path: Path) -> Path:
    if path.is_dir():
        for name in _FOLDER_FEEDS:
            if (path / name).is_file():
                return path / name
        raise FeedFormatError(f"{path}: folder holds no feed (looked for {', '.join(_FOLDER_FEEDS)})")
    if not path.exists():
        raise FeedFormatError(f"{path}: no such file")
    return path


def _format_name(format: str) -> str:
    name = _FORMAT_ALIASES.get(format.lower(), format.lower())
    if name not in FORMATS:
        raise FeedFormatError(f"unknown feed format {format!r}; known: {', '.join(FORMATS)}")
    return name


def _sniff(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise FeedFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _first_csv_row(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            return next(csv.reader(handle), [])
    except (OSError, csv.Error) as exc:
        raise FeedFormatError(f"{path}: cannot read a CSV header: {exc}") from exc
