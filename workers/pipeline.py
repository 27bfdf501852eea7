"""The ingest pipeline's stages as plain functions: Celery tasks and the CLI call the same code.

plan_job:    feed → normalised records → validated, stored photos → product rows → embed batches
embed_batch: product ids → vectors (one encoder call per batch) → points upserted → rows marked
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog import repository
from catalog.repository import Change
from catalog.vector_index import point_id
from clipshoe.runtime import Runtime
from ingest.feeds import FeedError, read_feed
from ingest.images import ImageRejected
from ingest.photos import store_for
from ingest.records import ProductRecord
from search import indexing
from search.grouping import assign_groups

log = logging.getLogger(__name__)


def record_fields(rec: ProductRecord) -> dict[str, Any]:
    """Catalogue columns of a record (readers already normalised it)."""
    return {**rec.model_dump(exclude={"source", "source_id", "image"}), "image_source": rec.image}


def _store_photo(rt: Runtime, image: str, session: Session | None = None) -> tuple[str, str]:
    """A record's photo (local path or URL) → (stored copy to use, sha256 of its bytes).

    Downloads, validates, normalises and de-duplicates (ingest/photos.py): an exact or near
    duplicate reuses the stored copy. Raises ImageRejected with the reason. Pass the caller's
    session when it holds a write transaction: SQLite has one writer at a time.
    """
    store = store_for(rt.settings)
    if session is None:
        with rt.sessions.begin() as own:
            stored = store.store(repository.SqlImageRegistry(own), image)
    else:
        stored = store.store(repository.SqlImageRegistry(session), image)
    if stored.link == "near":
        log.info("photo %s: near duplicate of %s, reusing %s", image, stored.record.duplicate_of, stored.path)
    return stored.path, stored.sha256


def plan_job(rt: Runtime, job_id: int) -> list[list[int]]:
    """Stage 1. Per-item problems become recorded errors; a bad feed fails the job."""
    with rt.sessions.begin() as s:
        job = repository.get_job(s, job_id)
        if job is None:
            raise LookupError(f"ingest job {job_id} does not exist")
        feed, fmt, source = job.feed, job.format, job.source
        repository.start_job(s, job_id)
    indexing.ensure_collection(rt.index, rt.encoder, rt.alias)
    to_embed: dict[int, None] = {}  # ordered set: a listing repeated in a feed is embedded once
    total = failed = unchanged = 0
    try:
        with rt.sessions.begin() as s:
            for line, item in enumerate(read_feed(Path(feed), format=fmt, source=source), start=1):
                total += 1
                if isinstance(item, FeedError):
                    failed += 1
                    repository.add_error(
                        s, job_id, "feed", item.reason, line=item.line, source_id=item.source_id
                    )
                    continue
                fields = record_fields(item)
                if item.image:
                    try:
                        fields["image_path"], fields["image_sha256"] = _store_photo(rt, item.image, s)
                    except (ImageRejected, OSError) as exc:
                        failed += 1
                        reason = getattr(exc, "reason", None) or str(exc)
                        repository.add_error(s, job_id, "image", reason, line=line, source_id=item.source_id)
                        continue  # the listing is left as it was: nothing stored is lost
                pid = point_id(item.source, item.source_id)
                product, change = repository.upsert_product(s, item.source, item.source_id, pid, fields)
                if change == Change.payload and product.embedded_model == rt.encoder.version:
                    rt.index.set_payload(indexing.collection_name(rt.encoder), pid, indexing.payload(product))
                    unchanged += 1
                elif change == Change.unchanged and product.embedded_model == rt.encoder.version:
                    unchanged += 1
                else:
                    to_embed[product.id] = None
    except Exception as exc:
        with rt.sessions.begin() as s:
            repository.fail_job(s, job_id, f"{type(exc).__name__}: {exc}")
        raise
    ids = list(to_embed)
    size = rt.settings.ingest.batch_size
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    with rt.sessions.begin() as s:
        repository.set_job_plan(s, job_id, total=total, batches=len(batches), failed=failed)
        repository.add_job_progress(s, job_id, unchanged=unchanged)
    return batches


def embed_batch(rt: Runtime, job_id: int | None, product_ids: list[int]) -> dict[str, int]:
    """Stage 2. Idempotent: points have fixed ids, so a redelivered batch rewrites the same points."""
    collection = indexing.ensure_collection(rt.index, rt.encoder, rt.alias)
    with rt.sessions() as s:
        products = repository.products_by_ids(s, product_ids)
    points = indexing.build_points(products, rt.encoder, rt.settings.media_dir)
    groups = assign_groups(rt.index, collection, products, points, rt.settings.ingest.duplicate_threshold)
    for pt in points:
        pt.payload["group"] = groups[pt.id]
    rt.index.upsert(collection, points)
    with rt.sessions.begin() as s:
        repository.set_groups(s, {p.id: groups[p.point_id] for p in products})
        repository.mark_embedded(s, [p.id for p in products], rt.encoder.version)
        if job_id is not None:
            repository.add_job_progress(s, job_id, indexed=len(points), batches=1)
    if job_id is not None:
        finish_job(rt, job_id)
    return {"indexed": len(points)}


def finish_job(rt: Runtime, job_id: int) -> None:
    with rt.sessions.begin() as s:
        done = repository.finish_job_if_done(s, job_id)
    if done:
        log.info("ingest job %s completed", job_id)


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
