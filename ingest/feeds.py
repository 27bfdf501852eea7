"""`read_feed`: any supported product feed → `ProductRecord | FeedError`, format auto-detected.

Formats (ingest/FEEDS.md): "myntra" (the Kaggle/Myntra styles.csv layout), "jsonl" and "csv"
(ClipShoe's generic feed as JSON Lines or CSV), "folder" (photos with sidecar files) and
"zappos50k" (the UT Zappos50K layout). A new source adds a reader here, keyed by name.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ingest.jsonl import count_jsonl, read_jsonl
from ingest.myntra import REQUIRED as MYNTRA_COLUMNS
from ingest.myntra import check_header, count_myntra, read_myntra
from ingest.records import FeedError, FeedFormatError, ProductRecord, is_url
from ingest.sources.csv_feed import count_csv_feed, is_feed_header, read_csv_feed, sniff_delimiter
from ingest.sources.image_folder import has_photos, read_image_folder
from ingest.sources.zappos import find_layout, read_zappos

__all__ = [
    "FORMATS",
    "FeedError",
    "FeedFormatError",
    "count_feed",
    "detect_format",
    "format_name",
    "read_feed",
    "within",
]

Reader = Callable[[Path, str], Iterator[ProductRecord | FeedError]]

FORMATS: dict[str, tuple[Reader, str]] = {
    "myntra": (read_myntra, "myntra"),
    "jsonl": (read_jsonl, "feed"),
    "csv": (read_csv_feed, "feed"),
    "folder": (read_image_folder, "folder"),
    "zappos50k": (read_zappos, "zappos50k"),
}
# Counting without building records (file formats; a folder's reader decides what is an item).
_COUNTERS: dict[str, Callable[[Path], int]] = {
    "myntra": count_myntra,
    "jsonl": count_jsonl,
    "csv": count_csv_feed,
}
_FORMAT_ALIASES = {"styles": "myntra", "ndjson": "jsonl", "json": "jsonl", "images": "folder"}
_FORMAT_ALIASES |= {"zappos": "zappos50k", "ut-zap50k": "zappos50k"}
_FOLDER_FORMATS = frozenset({"folder", "zappos50k"})  # read a folder, not a file in it
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
# A catalogue folder: the file a reader looks for inside it, in order.
_FOLDER_FEEDS = ("styles.csv", "feed.jsonl", "products.jsonl")
_SNIFF_BYTES = 64 * 1024


def read_feed(
    path: Path,
    format: str | None = None,
    source: str | None = None,
    photo_roots: Iterable[Path | str] | None = None,
) -> Iterator[ProductRecord | FeedError]:
    """Read a feed file (or a catalogue folder holding one) lazily, one product at a time.

    `source` names where the products come from when the feed does not say (default
    "myntra" for styles.csv, "feed" for JSONL). With `photo_roots` (feeds submitted through the
    API), a record whose local photo lies outside those folders becomes a FeedError. Raises
    FeedFormatError at once, before any row, when the file is missing, unreadable or in no
    known layout.
    """
    path, name = _resolve(path, format)
    reader, default_source = FORMATS[name]
    items = reader(path, source or default_source)
    return items if photo_roots is None else _confined(items, [Path(r).resolve() for r in photo_roots])


def count_feed(path: Path, format: str | None = None) -> int:
    """How many items `read_feed` yields for this feed (records and FeedErrors alike), counted
    without normalising them where the format allows: a job's total, known before its first row."""
    path, name = _resolve(path, format)
    if name in _COUNTERS:
        return _COUNTERS[name](path)
    reader, source = FORMATS[name]  # folders: an item is what their reader makes of the files
    return sum(1 for _ in reader(path, source))


def _resolve(path: Path, format: str | None) -> tuple[Path, str]:
    """The feed file (or folder) to read and its format name; FeedFormatError when there is none
    or its header is not one of the format's."""
    path = Path(path)
    name = format_name(format) if format else None
    if name in _FOLDER_FORMATS or (name is None and path.is_dir() and _folder_format(path)):
        name = name or _folder_format(path)
        if not path.is_dir():
            raise FeedFormatError(f"{path}: format {name!r} reads a folder")
    else:
        path = _feed_file(path)
        name = name or detect_format(path)
    if name == "csv" and set(_first_csv_row(path)) >= MYNTRA_COLUMNS:
        name = "myntra"  # "csv" once meant the styles.csv layout: a Myntra header still reads so
    if name in ("myntra", "csv"):
        # Check the header now: a generator would only raise on the caller's first next().
        _check_csv_header(name, path)
    elif name == "zappos50k" and find_layout(path) is None:
        raise FeedFormatError(f"{path}: not the UT Zappos50K layout (see ingest/FEEDS.md)")
    assert name is not None
    return path, name


def within(path: Path, roots: Iterable[Path]) -> bool:
    """True when `path`, symlinks and `..` resolved, lies in one of `roots` (absolute folders)."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte: nowhere allowed
        return False
    return any(resolved.is_relative_to(root) for root in roots)


def _confined(
    items: Iterator[ProductRecord | FeedError], roots: list[Path]
) -> Iterator[ProductRecord | FeedError]:
    """Refuse records naming a local photo outside `roots` before anything reads it. `line` is the
    item's position, as the pipeline numbers records."""
    for position, item in enumerate(items, start=1):
        image = item.image if isinstance(item, ProductRecord) else None
        if image and not is_url(image) and not within(Path(image), roots):
            item = FeedError(position, item.source_id, f"photo outside the feed folders: {image}")
        yield item


def detect_format(path: Path) -> str:
    """ "jsonl" for .jsonl/.ndjson or content starting with "{"; for a CSV header, "myntra" when it
    has the styles.csv columns, "csv" when it has ClipShoe's (an id and a title); for a folder,
    "zappos50k" or "folder" by its layout."""
    if path.is_dir():
        name = _folder_format(path)
        if name is None:
            raise FeedFormatError(f"{path}: folder holds no feed, photos or Zappos50K layout")
        return name
    head = _sniff(path)
    if b"\x00" in head:
        raise FeedFormatError(f"{path}: binary file, not a product feed")
    if path.suffix.lower() in _JSONL_SUFFIXES or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    if not head.strip():
        raise FeedFormatError(f"{path}: empty file")
    header = _first_csv_row(path)
    if set(header) >= MYNTRA_COLUMNS:
        return "myntra"
    if is_feed_header(header):
        return "csv"
    try:
        check_header(header, path)
    except FeedFormatError as exc:
        raise FeedFormatError(f"{exc}; nor a ClipShoe CSV feed (needs an id and a title column)") from None
    return "myntra"


def _folder_format(path: Path) -> str | None:
    """A folder without a feed file in it: the Zappos50K layout, or photos with sidecars."""
    if any((path / name).is_file() for name in _FOLDER_FEEDS):
        return None
    if find_layout(path) is not None:
        return "zappos50k"
    return "folder" if has_photos(path) else None


def _check_csv_header(name: str, path: Path) -> None:
    header = _first_csv_row(path)
    if name == "myntra":
        check_header(header, path)
    elif not is_feed_header(header):
        raise FeedFormatError(f"{path}: not a ClipShoe CSV feed: needs an id and a title column")


def _feed_file(path: Path) -> Path:
    if path.is_dir():
        for name in _FOLDER_FEEDS:
            if (path / name).is_file():
                return path / name
        raise FeedFormatError(f"{path}: folder holds no feed (looked for {', '.join(_FOLDER_FEEDS)})")
    if not path.exists():
        raise FeedFormatError(f"{path}: no such file")
    return path


def format_name(format: str) -> str:
    """A format name or alias ("zappos", "json") → its name in FORMATS; FeedFormatError if unknown."""
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
            delimiter = sniff_delimiter(handle.readline())
            handle.seek(0)
            return next(csv.reader(handle, delimiter=delimiter), [])
    except (OSError, csv.Error) as exc:
        raise FeedFormatError(f"{path}: cannot read a CSV header: {exc}") from exc
