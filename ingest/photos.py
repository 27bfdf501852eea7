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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
from PIL import Image

from ingest.image_fetch import Fetched, FetchLimits, fetch_image, make_client
from ingest.images import (
    ImageRejected,
    ValidatedImage,
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
    def by_sha256_many(self, sha256s: Iterable[str]) -> dict[str, Any]:
        """sha256 → row, of the photos with these bytes that are stored (one round trip)."""
        ...

    def by_source(self, source: str) -> Any | None:
        """The first photo read from this URL or path, if any."""
        ...

    def originals_since(self, last_id: int) -> Sequence[PhotoRow]:
        """Photos with their own stored copy (duplicate_of is None) and id > last_id, by id."""
        ...

    def add_many(self, records: Sequence[PhotoRecord]) -> dict[str, Any]:
        """Insert photos; sha256 → row of each (the row already there, where the sha256 was)."""
        ...


def record_of(row: Any) -> PhotoRecord:
    """A registry's row as a plain PhotoRecord (no database object outlives its session)."""
    return PhotoRecord(**{f.name: getattr(row, f.name) for f in fields(PhotoRecord)})


SIGNATURE_CACHE = 8192  # signatures of stored photos kept in memory (6 KB each: ~50 MB at most)


class NearIndex:
    """Perceptual hashes of stored originals, searched by Hamming distance in one numpy pass.

    Kept compact (8 bytes of hash and 32 of sha256 per photo, ~40 MB a million): an original's
    stored copy is at `stored_path(sha256)`, so its path need not be held."""

    def __init__(self) -> None:
        self._hashes = np.zeros(1024, dtype=np.uint64)  # grown by doubling: adding one is O(1)
        self._shas = np.zeros((1024, 32), dtype=np.uint8)
        self._size = 0
        self.last_id = 0
        # Originals this process added before the registry showed them: skipped when the top-up
        # brings their rows (a small set: the top-up runs before every batch).
        self._own: set[str] = set()

    def __len__(self) -> int:
        return self._size

    def add(self, row: PhotoRow) -> None:
        """A registry row (the top-up asks for ids above last_id only, so none comes twice)."""
        self.last_id = max(self.last_id, row.id or 0)
        if row.sha256 in self._own:
            self._own.discard(row.sha256)
            return
        self._append(row)

    def add_own(self, row: PhotoRow) -> None:
        """An original this process is storing now, searchable before its row is committed. The
        watermark is left alone: other workers' rows with lower ids may still be committing, and
        the next top-up must bring them."""
        self._own.add(row.sha256)
        self._append(row)

    def _append(self, row: PhotoRow) -> None:
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
    thumbnail_is_original: bool = False  # the thumbnail is the downloaded bytes themselves
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
        self._signatures: OrderedDict[str, np.ndarray] = OrderedDict()  # stored path → signature, LRU
        self._lock = threading.Lock()
        # Made on first use, so a store built before a worker process forks is still safe.
        self._http: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        if self._http is not None:
            self._http.close()
        self._http = self._pool = None

    def store(self, registry: ImageRegistry, ref: str) -> StoredPhoto:
        """One photo reference (path or URL) → StoredPhoto, or ImageRejected saying why not."""
        result = self.store_many(registry, [ref])[0]
        if isinstance(result, ImageRejected):
            raise result
        return result

    @property
    def window(self) -> int:
        """Photos handled at once by `store_many` (bounds the bytes held in memory)."""
        return max(1, self.limits.concurrency * 4)

    def store_many(self, registry: ImageRegistry, refs: Sequence[str]) -> list[StoredPhoto | ImageRejected]:
        """Photos in, results out in the same order; at most `limits.concurrency` downloads at once."""
        results: list[StoredPhoto | ImageRejected] = []
        for start in range(0, len(refs), self.window):
            results += self._batch(registry, refs[start : start + self.window])
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
            item = _Pending(ref)
            item.result = self._known(registry, ref) if is_url(ref) else None
            if item.result is None:
                unread.append(item)
            items.append(item)
        list(pool.map(self._read, unread))
        todo = [i for i in items if i.result is None]
        stored = registry.by_sha256_many({i.sha256 for i in todo if i.sha256})
        for item in todo:  # the same bytes stored before are not decoded again
            known = stored.get(item.sha256) if item.sha256 else None
            if known is not None and self._files_exist(known):
                item.result, item.data = StoredPhoto(record_of(known), "exact"), None
        list(pool.map(self._prepare, [i for i in todo if i.result is None]))
        with self._lock:
            for record in registry.originals_since(self._near.last_id):
                self._near.add(record)
            self._commit([i for i in items if i.result is None], registry)
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
        raw, item.data = item.data, None
        assert raw is not None
        try:
            v = validate_image(raw, max_bytes=self.limits.max_bytes, max_pixels=self.max_pixels)
        except ImageRejected as exc:
            item.result = _with_claim(exc, item)
            return
        item.record = PhotoRecord(
            sha256=v.sha256, phash=perceptual_hash(v.image), width=v.width, height=v.height,
            format=v.format, path=stored_path(v.sha256), source=item.ref,
        )  # fmt: skip
        item.signature = signature(v.image)
        item.photo = self._encoded(v, raw, self.max_side)
        item.thumbnail = self._encoded(v, raw, self.thumbnail_size)
        item.thumbnail_is_original = item.thumbnail is raw

    @staticmethod
    def _encoded(v: ValidatedImage, raw: bytes, side: int | None) -> bytes:
        """The JPEG bytes of `v` with its longest side capped at `side`: the original bytes when
        they already are exactly that (most marketplace photos), else a re-encoded copy."""
        if v.plain_jpeg and (side is None or max(v.width, v.height) <= side):
            return raw
        return jpeg_bytes(normalised(v.image, side))

    def _commit(self, items: list[_Pending], registry: ImageRegistry) -> None:
        """In feed order: link each photo to a stored near-duplicate, or write its files; then
        register them all in one statement (a round trip per photo was most of a feed's SQL)."""
        first: dict[str, _Pending] = {}  # sha256 → the item of this batch that registers those bytes
        for item in items:
            record = item.record
            assert record is not None and item.signature is not None
            if record.sha256 in first:
                continue  # the same bytes earlier in this batch: resolved below
            first[record.sha256] = item
            twin = self._near_twin(record.sha256, record.phash, item.signature)
            if twin is not None:
                distance, original, path = twin
                item.record = replace(record, path=path, duplicate_of=original, distance=distance)
            else:
                write_stored(self.media_dir, record.path, item.photo or b"")
                write_stored(self.media_dir, thumbnail_path(record.path), item.thumbnail or b"")
                if item.thumbnail_is_original:
                    # The thumbnail is these very bytes: its signature is the one just computed,
                    # and later photos need not read it back.
                    self._remember_signature(record.path, item.signature)
                self._near.add_own(record)  # later photos of this batch may be its near-duplicates
        # add_many returns the row another worker registered meanwhile, where one did.
        rows = registry.add_many([i.record for i in first.values()])  # type: ignore[misc]
        for sha256, item in first.items():
            added = record_of(rows[sha256])
            linked = item.record is not None and item.record.duplicate_of is not None
            if not linked and not self._files_exist(added):
                # registered before, but the copy it points at is gone: ours was written now
                added = replace(added, path=stored_path(sha256), duplicate_of=None, distance=None)
            item.result = StoredPhoto(added, "near" if linked else "new")
        for item in items:
            if item.result is None:
                assert item.record is not None
                earlier = first[item.record.sha256].result
                assert isinstance(earlier, StoredPhoto)
                item.result = StoredPhoto(earlier.record, "exact")

    def _near_twin(self, sha: str, phash: str, sig: np.ndarray) -> tuple[int, str, str] | None:
        """(distance, sha256, stored path) of a stored original this photo nearly duplicates."""
        for distance, sha256 in self._near.within(phash, self.near_distance):
            if sha256 == sha:
                continue  # itself, stored by an attempt whose transaction rolled back: not a twin
            path = stored_path(sha256)
            theirs = self._signature_of(path)
            if theirs is None or signature_difference(sig, theirs) > self.near_difference:
                continue
            # Compared first, looked for on disk only for a match: on white-background shots a
            # photo has a dozen pHash candidates, and a stat for each was most of this check.
            if (self.media_dir / thumbnail_path(path)).is_file():
                return distance, sha256, path
            self._signatures.pop(path, None)  # its files are gone: it cannot be reused
        return None

    def _signature_of(self, path: str) -> np.ndarray | None:
        """The signature of a stored photo's thumbnail, None if it cannot be read. Kept for the
        most recently used `SIGNATURE_CACHE` photos: on white-background catalogue shots many
        photos are pHash candidates of one another, and reading a thumbnail back each time was
        most of the near-duplicate check."""
        cached = self._signatures.get(path)
        if cached is not None:
            self._signatures.move_to_end(path)
            return cached
        try:
            with Image.open(self.media_dir / thumbnail_path(path)) as image:
                cached = signature(image)
        except OSError:  # gone (FileNotFoundError) or unreadable: it cannot be reused
            return None
        self._remember_signature(path, cached)
        return cached

    def _remember_signature(self, path: str, sig: np.ndarray) -> None:
        self._signatures[path] = sig
        self._signatures.move_to_end(path)
        if len(self._signatures) > SIGNATURE_CACHE:
            self._signatures.popitem(last=False)

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
    "shared_store",
    "store_for",
]
