"""A feed's photo references → stored, fingerprinted, de-duplicated photos.

`PhotoStore.store_many(registry, refs)` takes local paths and http(s) URLs, downloads the
remote ones concurrently (`ingest.image_fetch`), validates and normalises every photo
(`ingest.images`) in worker threads, then, in feed order, links each to what is already
stored:

- **exact duplicate**: the same bytes (sha256) were stored before, or the same URL was
  fetched before: nothing is decoded or written again;
- **near duplicate**: the perceptual hash is within `near_distance` bits of a stored photo's
  *and* the two look alike at 32×32 in colour (pHash is colour-blind, and a shoe's colourways
  are often shot identically): the stored copy is reused and the link recorded;
- otherwise the normalised JPEG and its thumbnail are written, content-addressed.

The registry (`ImageRegistry`; `catalog.repository.SqlImageRegistry` keeps it in the photos
table) remembers every photo. Near-duplicate matching runs on an in-memory index of the
registry's hashes, topped up from it before each batch; two workers storing near-duplicates at
the same moment may both keep theirs (exact duplicates never are stored twice: files are
content-addressed).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
from PIL import Image

from ingest.image_fetch import Fetched, FetchLimits, fetch_image, make_client
from ingest.images import (
    ImageRejected,
    jpeg_bytes,
    normalised,
    perceptual_hash,
    read_photo_file,
    signature,
    signature_difference,
    stored_path,
    thumbnail_path,
    validate_image,
    write_stored,
)
from ingest.records import is_url


@dataclass(frozen=True)
class PhotoRecord:
    """One photo ClipShoe has seen: what the registry stores."""

    sha256: str  # of the bytes as read or downloaded
    phash: str  # 16 hex digits
    width: int
    height: int
    format: str
    path: str  # the stored copy this photo uses: its own, or the one it duplicates
    duplicate_of: str | None = None  # sha256 of the photo whose stored copy is reused
    distance: int | None = None  # perceptual-hash distance to that photo
    source: str | None = None  # the first URL or path it was read from
    id: int | None = None  # assigned by the registry


@dataclass(frozen=True)
class StoredPhoto:
    """What ingesting one photo reference came to."""

    record: PhotoRecord
    link: str  # "new" (stored now), "exact" (same bytes or URL as before) or "near"

    @property
    def path(self) -> str:
        return self.record.path

    @property
    def sha256(self) -> str:
        return self.record.sha256

    @property
    def thumbnail(self) -> str:
        return thumbnail_path(self.record.path)


class PhotoRow(Protocol):
    """What near-duplicate search needs of a registry's row (a PhotoRecord, or a database row)."""

    id: int | None
    sha256: str
    phash: str


class ImageRegistry(Protocol):
    def by_sha256(self, sha256: str) -> Any | None:
        """The photo with these bytes (a PhotoRecord-like row), if any."""
        ...

    def by_source(self, source: str) -> Any | None:
        """The first photo read from this URL or path, if any."""
        ...

    def originals_since(self, last_id: int) -> Sequence[PhotoRow]:
        """Photos with their own stored copy (duplicate_of is None) and id > last_id, by id."""
        ...

    def add(self, record: PhotoRecord) -> Any:
        """Insert and return the row; if the sha256 is already there, return that row."""
        ...


def record_of(row: Any) -> PhotoRecord:
    """A registry's row as a plain PhotoRecord (no database object outlives its session)."""
    return PhotoRecord(**{f.name: getattr(row, f.name) for f in fields(PhotoRecord)})


class NearIndex:
    """Perceptual hashes of stored originals, searched by Hamming distance in one numpy pass.

    Kept compact (8 bytes of hash and 32 of sha256 per photo, ~40 MB a million): an original's
    stored copy is at `stored_path(sha256)`, so its path need not be held."""

    def __init__(self) -> None:
        self._hashes = np.zeros(1024, dtype=np.uint64)  # grown by doubling: adding one is O(1)
        self._shas = np.zeros((1024, 32), dtype=np.uint8)
        self._size = 0
        self.last_id = 0

    def __len__(self) -> int:
        return self._size

    def add(self, row: PhotoRow) -> None:
        # Topping up asks for ids above last_id only, so no row is ever added twice.
        self.last_id = max(self.last_id, row.id or 0)
        if self._size == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
            self._shas = np.concatenate([self._shas, np.zeros_like(self._shas)])
        self._hashes[self._size] = np.uint64(int(row.phash, 16))
        self._shas[self._size] = np.frombuffer(bytes.fromhex(row.sha256), dtype=np.uint8)
        self._size += 1

    def within(self, phash: str, distance: int) -> list[tuple[int, str]]:
        """(bits apart, sha256) of the stored originals at most `distance` bits away, nearest first."""
        if distance < 0 or not self._size:
            return []
        bits = _popcount(self._hashes[: self._size] ^ np.uint64(int(phash, 16)))
        hits = sorted(np.flatnonzero(bits <= distance), key=lambda i: bits[i])
        return [(int(bits[i]), self._shas[i].tobytes().hex()) for i in hits]


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(values)
    return np.unpackbits(values.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


@dataclass
class _Pending:
    """A photo in flight between the worker threads and the in-order commit."""

    ref: str
    data: bytes | None = None
    content_type: str | None = None
    sha256: str | None = None
    record: PhotoRecord | None = None  # set once prepared
    photo: bytes | None = None  # normalised JPEG
    thumbnail: bytes | None = None
    signature: np.ndarray | None = None
    result: StoredPhoto | ImageRejected | None = None


class PhotoStore:
    def __init__(
        self,
        media_dir: Path,
        *,
        limits: FetchLimits,
        max_pixels: int,
        max_side: int | None = 2048,
        thumbnail_size: int = 256,
        near_distance: int = 4,
        near_difference: float = 3.0,
    ) -> None:
        self.media_dir = Path(media_dir)
        self.limits = limits
        self.max_pixels = max_pixels
        self.max_side = max_side
        self.thumbnail_size = thumbnail_size
        self.near_distance = near_distance
        self.near_difference = near_difference  # mean 32×32 RGB difference (0–255) that still "looks alike"
        self._near = NearIndex()
        self._lock = threading.Lock()
        # Made on first use, so a store built before a worker process forks is still safe.
        self._http: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._prefetched: dict[str, tuple[_Pending, Future[None]]] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        if self._http is not None:
            self._http.close()
        self._http = self._pool = None

    def prefetch(self, registry: ImageRegistry, refs: Iterable[str]) -> None:
        """Start downloading the photos a caller is about to `store` one by one (a chunk of a feed),
        `limits.concurrency` at a time; `store` then finds them downloaded or in flight."""
        pool = self._workers()
        self._prefetched.clear()  # left over from a chunk that failed before storing them
        for ref in dict.fromkeys(refs):
            if is_url(ref) and self._known(registry, ref) is None:
                item = _Pending(ref)
                self._prefetched[ref] = (item, pool.submit(self._read, item))

    def store(self, registry: ImageRegistry, ref: str) -> StoredPhoto:
        """One photo reference (path or URL) → StoredPhoto, or ImageRejected saying why not."""
        result = self.store_many(registry, [ref])[0]
        if isinstance(result, ImageRejected):
            raise result
        return result

    def store_many(self, registry: ImageRegistry, refs: Sequence[str]) -> list[StoredPhoto | ImageRejected]:
        """Photos in, results out in the same order; at most `limits.concurrency` downloads at once."""
        window = max(1, self.limits.concurrency * 4)  # bounds the bytes held at once
        results: list[StoredPhoto | ImageRejected] = []
        for start in range(0, len(refs), window):
            results += self._batch(registry, refs[start : start + window])
        return results

    def _workers(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._http = make_client(self.limits)
                self._pool = ThreadPoolExecutor(self.limits.concurrency, "clipshoe-photos")
            return self._pool

    def _known(self, registry: ImageRegistry, url: str) -> StoredPhoto | None:
        """A URL fetched before is not downloaded again (a changed photo gets a new URL on CDNs)."""
        known = registry.by_source(url)
        return StoredPhoto(record_of(known), "exact") if known and self._files_exist(known) else None

    def _batch(self, registry: ImageRegistry, refs: Sequence[str]) -> list[StoredPhoto | ImageRejected]:
        pool = self._workers()
        items, unread = [], []
        for ref in refs:
            if ref in self._prefetched:
                item, future = self._prefetched.pop(ref)
                future.result()
            else:
                item = _Pending(ref)
                item.result = self._known(registry, ref) if is_url(ref) else None
                if item.result is None:
                    unread.append(item)
            items.append(item)
        list(pool.map(self._read, unread))
        todo = [i for i in items if i.result is None]
        for item in todo:  # the same bytes stored before are not decoded again
            known = registry.by_sha256(item.sha256) if item.sha256 else None
            if known is not None and self._files_exist(known):
                item.result, item.data = StoredPhoto(record_of(known), "exact"), None
        list(pool.map(self._prepare, [i for i in todo if i.result is None]))
        with self._lock:
            for record in registry.originals_since(self._near.last_id):
                self._near.add(record)
            for item in items:
                if item.result is None:
                    item.result = self._commit(registry, item)
        return [i.result for i in items]  # type: ignore[misc]

    def _read(self, item: _Pending) -> None:
        """Download or read the bytes and hash them (runs in a worker thread)."""
        try:
            if is_url(item.ref):
                fetched: Fetched = fetch_image(item.ref, self.limits, self._http)
                item.data, item.content_type = fetched.data, fetched.content_type
            else:
                item.data = read_photo_file(Path(item.ref), self.limits.max_bytes)
            item.sha256 = hashlib.sha256(item.data).hexdigest()
        except ImageRejected as exc:
            item.result = exc

    def _prepare(self, item: _Pending) -> None:
        """Decode, fingerprint and encode one photo (the CPU work; runs in a worker thread)."""
        assert item.data is not None
        try:
            v = validate_image(item.data, max_bytes=self.limits.max_bytes, max_pixels=self.max_pixels)
        except ImageRejected as exc:
            item.result = _with_claim(exc, item)
            return
        finally:
            item.data = None
        item.record = PhotoRecord(
            sha256=v.sha256, phash=perceptual_hash(v.image), width=v.width, height=v.height,
            format=v.format, path=stored_path(v.sha256), source=item.ref,
        )  # fmt: skip
        item.signature = signature(v.image)
        item.photo = jpeg_bytes(normalised(v.image, self.max_side))
        item.thumbnail = jpeg_bytes(normalised(v.image, self.thumbnail_size))

    def _commit(self, registry: ImageRegistry, item: _Pending) -> StoredPhoto:
        """In feed order: link to a stored near-duplicate, or write the files; then register."""
        record = item.record
        assert record is not None and item.signature is not None
        known = registry.by_sha256(record.sha256)  # the same bytes earlier in this batch
        if known is not None and self._files_exist(known):
            return StoredPhoto(record_of(known), "exact")
        twin = self._near_twin(record.phash, item.signature)
        if twin is not None:
            distance, original, path = twin
            linked = replace(record, path=path, duplicate_of=original, distance=distance)
            return StoredPhoto(record_of(registry.add(linked)), "near")
        write_stored(self.media_dir, record.path, item.photo or b"")
        write_stored(self.media_dir, thumbnail_path(record.path), item.thumbnail or b"")
        added = record_of(registry.add(record))
        if not self._files_exist(added):  # registered before, but the copy it points at is gone
            added = replace(added, path=record.path, duplicate_of=None, distance=None)
        if added.duplicate_of is None:
            self._near.add(added)
        return StoredPhoto(added, "new")

    def _near_twin(self, phash: str, sig: np.ndarray) -> tuple[int, str, str] | None:
        """(distance, sha256, stored path) of a stored original this photo nearly duplicates."""
        for distance, sha256 in self._near.within(phash, self.near_distance):
            path = stored_path(sha256)
            try:
                with Image.open(self.media_dir / thumbnail_path(path)) as image:
                    theirs = signature(image)
            except OSError:
                continue  # its files are gone; it cannot be reused
            if signature_difference(sig, theirs) <= self.near_difference:
                return distance, sha256, path
        return None

    def _files_exist(self, record: Any) -> bool:
        return (self.media_dir / record.path).is_file()


def _with_claim(exc: ImageRejected, item: _Pending) -> ImageRejected:
    """Name what the server claimed the bytes were, when it was wrong: it helps fix the feed."""
    if item.content_type and exc.reason.startswith("not an image"):
        return ImageRejected(f"{exc.reason} (served as {item.content_type.split(';')[0].strip()})")
    return exc


def store_for(settings: Any) -> PhotoStore:
    """The process's PhotoStore for a `clipshoe.settings.Settings` (its ingest group, media dir)."""
    cfg = settings.ingest
    limits = FetchLimits(
        max_bytes=cfg.max_image_bytes,
        connect_timeout=cfg.image_connect_timeout,
        read_timeout=cfg.image_read_timeout,
        deadline=cfg.image_fetch_deadline,
        concurrency=cfg.image_download_concurrency,
        allow_private=cfg.allow_private_urls,
    )
    return shared_store(
        Path(settings.media_dir), limits, cfg.max_image_pixels, cfg.image_max_side, cfg.thumbnail_size,
        cfg.phash_distance,
    )  # fmt: skip


def prefetch_photos(settings: Any, registry: ImageRegistry, items: Iterable[Any]) -> None:
    """Start downloading the photos of a chunk of feed items (records with an `image`) at once."""
    refs = [item.image for item in items if getattr(item, "image", None)]
    if refs:
        store_for(settings).prefetch(registry, refs)


_STORES: OrderedDict[tuple[Any, ...], PhotoStore] = OrderedDict()  # least recently used first
_STORES_LOCK = threading.Lock()
_MAX_STORES = 4


def shared_store(
    media_dir: Path,
    limits: FetchLimits,
    max_pixels: int,
    max_side: int,
    thumbnail_size: int,
    near_distance: int,
) -> PhotoStore:
    """One PhotoStore per configuration and process: its near-duplicate index, download pool and
    HTTP connections are kept from one photo (and one job) to the next. At most `_MAX_STORES` are
    kept; the least recently used beyond them is closed (its threads and connections released)."""
    key = (media_dir, limits, max_pixels, max_side, thumbnail_size, near_distance)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is not None:
            _STORES.move_to_end(key)
            return store
        store = _STORES[key] = PhotoStore(
            media_dir,
            limits=limits,
            max_pixels=max_pixels,
            max_side=max_side,
            thumbnail_size=thumbnail_size,
            near_distance=near_distance,
        )
        evicted = _STORES.popitem(last=False)[1] if len(_STORES) > _MAX_STORES else None
    if evicted is not None:
        evicted.close()
    return store


__all__ = [
    "ImageRegistry",
    "NearIndex",
    "PhotoRecord",
    "PhotoStore",
    "StoredPhoto",
    "prefetch_photos",
    "shared_store",
    "store_for",
]
