"""A crawl folder, written so that a crawl killed at any instant (SIGKILL included) resumes
without losing or duplicating a product.

    products.jsonl   the feed: one ProductRecord per line, append-only (ingest/FEEDS.md, JSONL)
    errors.jsonl     one line per rejected item or failed page, append-only
    checkpoint.json  the commit point: each stream's next page, the counters, and how many
                     bytes of the two logs are committed

A page is committed in three steps: its new products and errors are appended and fsynced,
then checkpoint.json is replaced atomically (write, fsync, rename, fsync the folder). On
open, bytes past the committed offsets belong to a page whose checkpoint never landed: they
are cut off (a half-written last line with them) and that page is fetched again. Products
are also deduplicated by (source, source_id), because sites repeat listings across pages
and queries; the first copy wins.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.records import ProductRecord

PRODUCTS = "products.jsonl"
ERRORS = "errors.jsonl"
CHECKPOINT = "checkpoint.json"
_LOCK = ".crawl.lock"
_VERSION = 1


class CrawlFolderError(Exception):
    """The folder cannot be crawled into: busy, foreign, or edited behind the crawler's back."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_checkpoint(folder: Path) -> dict[str, Any] | None:
    path = folder / CHECKPOINT
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CrawlFolderError(f"{path}: unreadable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("version") != _VERSION:
        raise CrawlFolderError(f"{path}: not a ClipShoe crawl checkpoint (version {_VERSION})")
    return state


class CrawlStore:
    """The open crawl folder. One process at a time: a lock file guards it (released by the
    kernel when the process dies, however it dies)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = (folder / _LOCK).open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise CrawlFolderError(f"{folder}: another crawl is writing here") from None
        try:
            self.state = self._recover()
            self.seen = set(self._committed_keys())
        except Exception:
            self.close()
            raise
        self._products = (folder / PRODUCTS).open("ab")
        self._errors = (folder / ERRORS).open("ab")
        if "updated" not in self.state:
            self._save()  # a new folder: from now on a products.jsonl here always has a checkpoint

    @classmethod
    @contextmanager
    def open(cls, folder: Path) -> Iterator[CrawlStore]:
        store = cls(folder)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        for handle in (getattr(self, "_products", None), getattr(self, "_errors", None), self._lock):
            if handle is not None:
                handle.close()

    @property
    def streams(self) -> dict[str, dict[str, Any]]:
        return self.state["streams"]

    @property
    def counters(self) -> Counter[str]:
        return self.state["counters"]

    def commit(
        self,
        records: Iterable[ProductRecord],
        errors: Iterable[Mapping[str, Any]],
        stream: tuple[str, Mapping[str, Any]] | None = None,
        counts: Mapping[str, int] | None = None,
    ) -> tuple[int, int]:
        """Append new products and errors, then move the checkpoint: one page, all or nothing.

        `stream` is (key, fields to update); returns (products written, duplicates skipped).
        """
        stamp = now()
        lines, duplicates = [], 0
        for record in records:
            key = (record.source, record.source_id)
            if key in self.seen:
                duplicates += 1
                continue
            self.seen.add(key)
            record.attributes.setdefault("crawled_at", stamp)
            lines.append(json.dumps(record.model_dump(mode="json", exclude_none=True), ensure_ascii=False))
        error_lines = [json.dumps({"at": stamp, **e}, ensure_ascii=False) for e in errors]
        _append(self._products, lines)
        _append(self._errors, error_lines)
        self.counters.update(counts or {})
        self.counters.update({"products": len(lines), "duplicates": duplicates})
        if stream is not None:
            key, fields = stream
            self.streams[key].update(fields)
        self._save()
        return len(lines), duplicates

    def save(self) -> None:
        """Checkpoint without new output (new streams, new page limits)."""
        self._save()

    def _save(self) -> None:
        self.state["updated"] = now()
        self.state["committed"] = {
            PRODUCTS: (self.folder / PRODUCTS).stat().st_size,
            ERRORS: (self.folder / ERRORS).stat().st_size,
        }
        body = json.dumps({**self.state, "counters": dict(self.counters)}, ensure_ascii=False, indent=1)
        temporary = self.folder / f"{CHECKPOINT}.tmp"
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / CHECKPOINT)
        _fsync_dir(self.folder)

    def _recover(self) -> dict[str, Any]:
        """Load the checkpoint and roll the logs back to what it committed."""
        state = read_checkpoint(self.folder)
        products = self.folder / PRODUCTS
        if state is None:
            if products.exists() and products.stat().st_size:
                raise CrawlFolderError(
                    f"{self.folder}: holds {PRODUCTS} but no {CHECKPOINT}: not a crawl folder; "
                    "crawl into an empty or new folder"
                )
            state = {"version": _VERSION, "created": now(), "streams": {}, "counters": {}, "committed": {}}
        state["counters"] = Counter(state.get("counters") or {})
        for name in (PRODUCTS, ERRORS):
            path = self.folder / name
            committed = int(state.get("committed", {}).get(name, 0))
            size = path.stat().st_size if path.exists() else 0
            if size < committed:
                raise CrawlFolderError(
                    f"{path}: {size} bytes but {committed} were committed: the file was edited or "
                    "truncated outside the crawler; start a new folder"
                )
            with path.open("ab") as handle:
                handle.truncate(committed)  # the uncommitted tail of a killed run, if any
                os.fsync(handle.fileno())
        return state

    def _committed_keys(self) -> Iterator[tuple[str, str]]:
        with (self.folder / PRODUCTS).open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    obj = json.loads(line)
                    yield (obj["source"], str(obj["source_id"]))
                except (ValueError, KeyError, TypeError) as exc:
                    where = f"{self.folder / PRODUCTS}: line {number}"
                    raise CrawlFolderError(f"{where} is not a product: {exc}") from exc


def _append(handle: Any, lines: list[str]) -> None:
    if lines:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    handle.flush()
    os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
