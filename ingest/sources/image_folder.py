"""Reader for a folder of product photos, each described by a sidecar file beside it (FEEDS.md §4).

    shoes/nike-air-max-90.jpg   + shoes/nike-air-max-90.json  {"title": "...", "price": 3290000, ...}
    shoes/bitis-hunter.png      + shoes/bitis-hunter.txt      Biti's Hunter Street\\nbrand: Biti's\\n...

A `.json` sidecar is one object with the JSONL feed's fields; a `.txt` sidecar holds `field:
value` lines for the same fields, its first other line is the title and the rest the
description. The photo beside the sidecar is the product's image; the listing's id defaults to
the photo's path in the folder without its extension. Photos are found in subfolders too, in
path order; hidden files and folders are skipped. A photo without a sidecar, or a sidecar
without a photo, is reported rather than guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.jsonl import _fields as feed_fields  # one mapping of aliases and extras for every feed
from ingest.records import FeedError, FeedFormatError, ProductRecord, build_record

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})
SIDECAR_SUFFIXES = (".json", ".txt")  # in order of preference when both are present
MAX_SIDECAR_BYTES = 256 * 1024
_TXT_FIELDS = frozenset(
    {"id", "source_id", "title", "name", "brand", "price", "currency", "category", "gender", "colour"}
    | {"color", "description", "url", "source"}
)
_TXT_LINE = re.compile(r"^\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")


def has_photos(folder: Path) -> bool:
    """True when the folder (or a subfolder) holds a file with a photo's extension."""
    return any(True for _ in _photos(folder))


def read_image_folder(path: Path, source: str = "folder") -> Iterator[ProductRecord | FeedError]:
    """Yield one record (or FeedError) per photo, in path order; `line` is the photo's position."""
    root = path.resolve()
    if not root.is_dir():
        raise FeedFormatError(f"{path}: not a folder of photos")
    photos = sorted(_photos(root))
    if not photos:
        raise FeedFormatError(f"{path}: folder holds no photos ({', '.join(sorted(IMAGE_SUFFIXES))})")
    used: set[Path] = set()
    for number, photo in enumerate(photos, start=1):
        sidecar = next((s for s in map(photo.with_suffix, SIDECAR_SUFFIXES) if s.is_file()), None)
        rel = photo.relative_to(root).with_suffix("").as_posix()
        if sidecar is None:
            yield FeedError(number, rel, f"{photo.relative_to(root)}: no sidecar ({rel}.json or {rel}.txt)")
            continue
        used.add(sidecar)
        yield _record(number, photo, sidecar, rel, source)
    for number, orphan in enumerate(sorted(_orphan_sidecars(root, used)), start=len(photos) + 1):
        yield FeedError(number, None, f"{orphan.relative_to(root)}: sidecar without a photo beside it")


def _photos(root: Path) -> Iterator[Path]:
    for p in root.rglob("*"):
        if p.suffix.lower() in IMAGE_SUFFIXES and not _hidden(p, root) and p.is_file():
            yield p


def _orphan_sidecars(root: Path, used: set[Path]) -> Iterator[Path]:
    """Sidecars no photo claimed and no photo sits beside (a .txt beside a .json-described photo is fine)."""
    photo_stems = {p.with_suffix("") for p in _photos(root)}
    for p in root.rglob("*"):
        unclaimed = p not in used and p.with_suffix("") not in photo_stems
        if p.suffix in SIDECAR_SUFFIXES and unclaimed and not _hidden(p, root) and p.is_file():
            yield p


def _hidden(p: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in p.relative_to(root).parts)


def _record(number: int, photo: Path, sidecar: Path, rel: str, source: str) -> ProductRecord | FeedError:
    where = sidecar.name
    try:
        if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
            return FeedError(number, rel, f"{where}: sidecar larger than {MAX_SIDECAR_BYTES} bytes")
        raw = sidecar.read_bytes()
    except OSError as exc:
        return FeedError(number, rel, f"{where}: cannot read: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return FeedError(number, rel, f"{where}: not valid UTF-8: byte 0x{raw[exc.start]:02x} at {exc.start}")
    if sidecar.suffix == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            return FeedError(number, rel, f"{where}: invalid JSON: {exc.msg} at line {exc.lineno}")
        if not isinstance(obj, dict):
            return FeedError(number, rel, f"{where}: expected a JSON object, got {type(obj).__name__}")
    else:
        obj = _txt_fields(text)
    if "source_id" not in obj and "id" not in obj:
        obj["source_id"] = rel
    fields = feed_fields(obj, source)
    fields["image"] = str(photo)  # the photo beside the sidecar is the listing's, whatever it says
    record = build_record(number, fields, photo.parent)
    if isinstance(record, FeedError):
        return FeedError(record.line, record.source_id, f"{where}: {record.reason}")
    return record


def _txt_fields(text: str) -> dict[str, Any]:
    """`field: value` lines are fields; the first other line is the title, the rest the description."""
    fields: dict[str, Any] = {}
    prose: list[str] = []
    for line in text.splitlines():
        match = _TXT_LINE.match(line)
        if match and match.group(1).lower() in _TXT_FIELDS:
            fields.setdefault(match.group(1).lower(), match.group(2))
        elif line.strip():
            prose.append(line.strip())
    if prose and "title" not in fields and "name" not in fields:
        fields["title"] = prose.pop(0)
    if prose and "description" not in fields:
        fields["description"] = " ".join(prose)
    return fields
