"""The ingest pipeline's stages as plain functions: Celery tasks, the CLI and `clipshoe eval` call
the same code.

plan_job:    feed → normalised records → validated, stored photos → product rows → batch rows,
             committed chunk by chunk. What changed decides the work (see `catalog.repository.Change`):
             a new photo is embedded in full, a new title re-embeds only the text; brand, category,
             colour, gender, price or stock changes update the point at once, with no encoder call.
embed_batch: batch row → vectors (one encoder call per kind) → points upserted or updated → rows
             marked, counts added once.
fail_batch:  a batch that cannot be embedded (bad data, or retries exhausted) → every product of it
             in the dead letter, with the reason.
run_job:     all of it in this thread, in order (embedded mode, `clipshoe eval`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog import repository
from catalog.models import BatchStatus, IngestJob, JobStatus, Product
from catalog.repository import Change
from catalog.vector_index import PointNotFound, point_id
from clipshoe.runtime import Runtime
from ingest.feeds import FeedError, count_feed, read_feed
from ingest.images import ImageRejected
from ingest.photos import StoredPhoto, store_for
from ingest.records import ProductRecord
from search import indexing
from search.grouping import assign_groups

log = logging.getLogger(__name__)

# Called after each committed chunk of the feed: hand the new batches to the broker.
OnChunk = Callable[[], None]


def record_fields(rec: ProductRecord) -> dict[str, Any]:
    """Catalogue columns of a record (readers already normalised it)."""
    return {**rec.model_dump(exclude={"source", "source_id", "image"}), "image_source": rec.image}


# A chunk's photos by reference: (stored copy to use, sha256 of its bytes), or why not.
Photos = dict[str, tuple[str, str] | ImageRejected | OSError]


def _store_photo(rt: Runtime, image: str) -> tuple[str, str] | ImageRejected | OSError:
    """One photo (local path or URL) → (stored copy to use, sha256 of its bytes), or why not, in a
    short transaction of its own."""
    try:
        with rt.sessions.begin() as s:
            stored = store_for(rt.settings).store(repository.SqlImageRegistry(s), image)
    except (ImageRejected, OSError) as exc:
        return exc
    return stored.path, stored.sha256


def _store_photos(rt: Runtime, chunk: list[tuple[int, Any]]) -> Photos:
    """A chunk's photos: downloaded, validated, normalised and de-duplicated (ingest/photos.py; an
    exact or near duplicate reuses the stored copy), before the chunk's transaction opens. They are
    registered in short transactions of their own, one per window of photos, which hold no job row:
    embed tasks update the job meanwhile. A photo stored for a chunk that is then rolled back is
    simply reused."""
    items = [item for _, item in chunk if isinstance(item, ProductRecord)]
    refs = list(dict.fromkeys(item.image for item in items if item.image))
    if not refs:
        return {}
    store = store_for(rt.settings)
    results: list[StoredPhoto | ImageRejected] = []
    try:
        # One transaction per window of photos: rows inserted are not held locked while the next
        # window downloads.
        for start in range(0, len(refs), store.window):
            with rt.sessions.begin() as s:
                results += store.store_many(
                    repository.SqlImageRegistry(s), refs[start : start + store.window]
                )
    except OSError:
        # A photo that cannot be written (a full or read-only disk) fails alone, with the reason:
        # one transaction per photo, as slow as that is, so the rest of the chunk still lands.
        log.warning("storing a chunk's photos failed; storing them one by one", exc_info=True)
        return {ref: _store_photo(rt, ref) for ref in refs}
    photos: Photos = {}
    for ref, result in zip(refs, results, strict=True):
        if isinstance(result, ImageRejected):
            photos[ref] = result
            continue
        if result.link == "near":
            original = result.record.duplicate_of
            log.info("photo %s: near duplicate of %s, reusing %s", ref, original, result.path)
        photos[ref] = (result.path, result.sha256)
    return photos


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, size)):
        yield chunk


class _Planner:
    """One job's feed, read into product rows and batch rows; every item lands in exactly one
    counter (failed, unchanged, updated) or one batch, so done == total at the end."""

    def __init__(self, rt: Runtime, job_id: int, collection: str, version: str) -> None:
        self.rt, self.job_id, self.collection, self.version = rt, job_id, collection, version
        self.size = rt.settings.ingest.batch_size
        self.full: dict[int, None] = {}  # ordered sets of product ids waiting for a batch row
        self.text: dict[int, None] = {}
        self.planned_full: set[int] = set()  # in a batch row of this job already
        self.counts: Counter[str] = Counter()
        self.batch_ids: list[int] = []

    def chunk(self, s: Session, chunk: list[tuple[int, ProductRecord | FeedError]], photos: Photos) -> None:
        """A chunk of the feed: failures to the dead letter, listings upserted together, then routed
        in feed order."""
        rows: list[repository.ListingRow] = []
        for line, item in chunk:
            if isinstance(item, FeedError):
                self._dead(s, "feed", item.reason, item.line, item.source_id)
                continue
            fields = record_fields(item)
            if item.image:
                photo = photos[item.image]
                if isinstance(photo, Exception):
                    reason = getattr(photo, "reason", None) or str(photo)
                    # The listing is left as it was: nothing stored is lost.
                    self._dead(s, "image", reason, line, item.source_id, item.model_dump(mode="json"))
                    continue
                fields["image_path"], fields["image_sha256"] = photo
            rows.append((item.source, item.source_id, point_id(item.source, item.source_id), fields))
        for product, change in repository.upsert_products(s, rows):
            self._route(product, change)

    def _dead(
        self,
        s: Session,
        stage: str,
        reason: str,
        line: int,
        source_id: str | None,
        record: dict[str, Any] | None = None,
    ) -> None:
        self.counts["failed"] += 1
        repository.add_error(s, self.job_id, stage, reason, line=line, source_id=source_id, record=record)

    def _route(self, p: Product, change: Change) -> None:
        current = p.embedded_model == self.version
        if change == Change.unchanged and current:
            self.counts["unchanged"] += 1
        elif change in (Change.new, Change.embed) or not current:
            if p.id in self.full or p.id in self.planned_full:
                self.counts["unchanged"] += 1  # already queued: its batch reads the row as it is now
            else:
                self.full[p.id] = None
                self.text.pop(p.id, None)
        elif change == Change.text:
            if p.id in self.full or p.id in self.text:
                self.counts["unchanged"] += 1
            else:
                self.text[p.id] = None
        else:  # lexical or payload: update the point now, no encoder call
            try:
                self._patch(p, change)
                self.counts["updated"] += 1
            except PointNotFound:  # the row says embedded, the index lost it: embed it again
                self.full[p.id] = None

    def _patch(self, p: Product, change: Change) -> None:
        if change == Change.lexical:
            point = indexing.lexical_point(p)
            if point.sparse and point.sparse.indices:
                self.rt.index.update_vectors(self.collection, [point])
        self.rt.index.set_payload(self.collection, p.point_id, indexing.payload(p))

    def flush(self, s: Session) -> None:
        """Write every waiting product into batch rows of at most `size` (photo embeds first), in the
        chunk's transaction: what was read is durable, nothing waits in memory across commits."""
        while self.full or self.text:
            full = list(islice(self.full, self.size))
            text = list(islice(self.text, self.size - len(full)))
            for i in full:
                del self.full[i]
            for i in text:
                del self.text[i]
            self.planned_full.update(full)
            self.batch_ids.append(repository.add_batch(s, self.job_id, full, text))

    def report(self, s: Session) -> None:
        repository.add_job_progress(s, self.job_id, **self.counts)
        self.counts.clear()


def _resume(rt: Runtime, job_id: int) -> IngestJob | None:
    """The job, marked running if it was pending; None if it is over (completed or failed)."""
    with rt.sessions.begin() as s:
        job = repository.get_job(s, job_id)
        if job is None:
            raise LookupError(f"ingest job {job_id} does not exist")
        if job.status == JobStatus.pending:
            repository.start_job(s, job_id)
        elif job.status != JobStatus.running:
            return None
        s.expunge(job)
        return job


def plan_job(
    rt: Runtime,
    job_id: int,
    on_chunk: OnChunk | None = None,
    max_items: int | None = None,
    retryable: tuple[type[Exception], ...] = (),
) -> list[int]:
    """Stage 1: read the feed into product rows and batch rows, from where the job left off, at most
    `max_items` items (None: to the end); return the ids of the batches planned. Each chunk of
    `batch_size` items is one transaction that also advances the job's `read`, so a retried,
    redelivered or continued task resumes exactly there and no item is counted twice. Per-item
    problems go to the dead letter; a bad feed fails the job, but an error of a `retryable` type (a
    dropped database connection) leaves it running for the caller to retry. `on_chunk` runs after
    each commit."""
    job = _resume(rt, job_id)
    if job is None or job.feed_read_at is not None:
        return []
    # One read of the live model (as in embed_batch): a swap mid-read must not pair one model's
    # collection with the other's version.
    encoder = rt.encoder
    collection = indexing.ensure_collection(rt.index, encoder, rt.alias)
    planner = _Planner(rt, job_id, collection, encoder.version)
    # A feed submitted through the API may only name local photos inside the feed folders.
    feed = partial(
        read_feed, Path(job.feed), format=job.format, source=job.source, photo_roots=job.photo_roots
    )
    position = job.read
    try:
        if position == 0:
            # One cheap pass (rows counted, not normalised) gives the total up front: progress and
            # ETA from the start.
            total = count_feed(Path(job.feed), format=job.format)
            with rt.sessions.begin() as s:
                repository.set_job_total(s, job_id, total)
        items = islice(enumerate(feed(), start=1), position, None)
        for chunk in _chunks(islice(items, max_items), planner.size):
            # Photos first, outside the chunk's transaction: it then holds the job row (locked by
            # advance_read) for database work only, never while photos download.
            photos = _store_photos(rt, chunk)
            with rt.sessions.begin() as s:
                if not repository.advance_read(s, job_id, position, position + len(chunk)):
                    log.warning("ingest job %s: another task is reading this feed; stopping", job_id)
                    return planner.batch_ids
                planner.chunk(s, chunk, photos)
                planner.flush(s)
                planner.report(s)
            position += len(chunk)
            if on_chunk is not None:
                on_chunk()
        if next(items, None) is None:
            with rt.sessions.begin() as s:
                repository.mark_feed_read(s, job_id)
    except retryable:
        raise
    except Exception as exc:
        with rt.sessions.begin() as s:
            repository.fail_job(s, job_id, f"{type(exc).__name__}: {exc}")
        raise
    return planner.batch_ids


def embed_batch(rt: Runtime, job_id: int | None, batch_id: int) -> dict[str, int]:
    """Stage 2: embed one batch row (its job is the row's). Idempotent: points have fixed ids, and a
    batch adds its counts once (a redelivered message of a closed batch does nothing)."""
    with rt.sessions.begin() as s:
        batch = repository.start_batch(s, batch_id)
        if batch is None:
            return {"skipped": 1}
        job_id, full_ids, text_ids = batch.job_id, list(batch.product_ids), list(batch.text_ids)
    # One read of the live model for the whole batch: a reindex swapping the alias mid-batch
    # must not put one model's vectors into the other's collection.
    encoder = rt.encoder
    collection = indexing.ensure_collection(rt.index, encoder, rt.alias)
    with rt.sessions() as s:
        products = repository.products_by_ids(s, full_ids + text_ids)
    version, size = encoder.version, rt.settings.encoder.batch_size
    text_only = set(text_ids)
    # A title change keeps the photo vector only if the point exists and was made by this model.
    held = {
        pt.id for pt in rt.index.retrieve(collection, [p.point_id for p in products if p.id in text_only])
    }
    keeps_photo = {
        p.id for p in products if p.id in text_only and p.embedded_model == version and p.point_id in held
    }
    full = [p for p in products if p.id not in keeps_photo]
    text = [p for p in products if p.id in keeps_photo]

    points = indexing.build_points(full, encoder, rt.settings.media_dir, size) if full else []
    groups = assign_groups(rt.index, collection, full, points, rt.settings.ingest.duplicate_threshold)
    for pt in points:
        pt.payload["group"] = groups[pt.id]
    rt.index.upsert(collection, points)
    updates = indexing.text_points(text, encoder, size) if text else []
    rt.index.update_vectors(collection, updates)
    for pt in updates:
        rt.index.set_payload(collection, pt.id, pt.payload)

    found = {p.id for p in products}
    missing = [i for i in full_ids + text_ids if i not in found]
    with rt.sessions.begin() as s:
        repository.set_groups(s, {p.id: groups[p.point_id] for p in full})
        repository.mark_embedded(s, [p.id for p in products], version)
        if repository.close_batch(s, batch_id, BatchStatus.done):
            for i in missing:  # deleted while the batch waited
                repository.add_error(
                    s, job_id, "embed", "product no longer in the catalogue", record={"product_id": i}
                )
            repository.add_job_progress(
                s,
                job_id,
                indexed=len(full),
                updated=len(text),
                failed=len(missing),
                batches=1,
                images=sum("image" in pt.vectors for pt in points),
                texts=len(points) + len(updates),
            )
    finish_job(rt, job_id)
    return {"indexed": len(full), "updated": len(text), "failed": len(missing)}


def fail_batch(rt: Runtime, batch_id: int, reason: str, attempts: int = 1) -> None:
    """Dead-letter every product of a batch that cannot be embedded; the job goes on."""
    with rt.sessions.begin() as s:
        batch = repository.get_batch(s, batch_id)
        if batch is None or not repository.close_batch(s, batch_id, BatchStatus.failed):
            return
        job_id, ids = batch.job_id, [*batch.product_ids, *batch.text_ids]
        products = {p.id: p for p in repository.products_by_ids(s, ids)}
        for i in ids:
            p = products.get(i)
            record = {"product_id": i} | (
                {"source": p.source, "source_id": p.source_id, "point_id": p.point_id} if p else {}
            )
            source_id = p.source_id if p else None
            repository.add_error(
                s, job_id, "embed", reason, source_id=source_id, record=record, attempts=attempts
            )
        repository.mark_stale(s, ids)  # the next ingest of these listings re-embeds them in full
        repository.add_job_progress(s, job_id, failed=len(ids), batches=1)
    log.warning("ingest job %s: batch %s dead-lettered (%d products): %s", job_id, batch_id, len(ids), reason)
    finish_job(rt, job_id)


def finish_job(rt: Runtime, job_id: int) -> None:
    with rt.sessions.begin() as s:
        done = repository.finish_job_if_done(s, job_id)
    if done:
        log.info("ingest job %s completed", job_id)


def abandon_job(rt: Runtime, job_id: int, exc: BaseException) -> None:
    """Fail a job nothing will retry, with the reason, unless it is over already."""
    with rt.sessions.begin() as s:
        job = repository.get_job(s, job_id)
        if job is not None and job.status in (JobStatus.pending, JobStatus.running):
            repository.fail_job(s, job_id, f"{type(exc).__name__}: {exc}")


def run_job(rt: Runtime, job_id: int) -> None:
    """Every stage in this thread, in order: embedded mode (no broker) and `clipshoe eval`. Also
    resumes a job this process was running when it stopped: the feed from where it was, and every
    batch not yet closed."""
    plan_job(rt, job_id)
    with rt.sessions() as s:
        batches = repository.unfinished_batches(s, job_id)
    for batch_id in batches:
        try:
            embed_batch(rt, job_id, batch_id)
        except Exception as exc:
            log.exception("ingest job %s: batch %s failed", job_id, batch_id)
            fail_batch(rt, batch_id, f"{type(exc).__name__}: {exc}")
    finish_job(rt, job_id)


def optimize_index(rt: Runtime) -> bool:
    """Build the HNSW graphs of the embedded store once a bulk load is done (a server does this
    itself). Blocking, and qdrant-edge holds the GIL while it runs, so it is never called from a
    serving process: the CLI calls it after `ingest`, before `serve`. Below the threshold plain
    segments are exact and already fast (docs/decisions.md)."""
    collection = indexing.collection_name(rt.encoder)
    if rt.settings.qdrant.url or rt.index.count(collection) < rt.settings.qdrant.optimize_min_points:
        return False
    rt.index.optimize(collection)
    return True
