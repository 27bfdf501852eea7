"""Catalogue I/O: every SQL statement ClipShoe runs lives here."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from catalog.models import (
    ApiKey,
    BatchStatus,
    IngestBatch,
    IngestError,
    IngestJob,
    JobPriority,
    JobStatus,
    ModelState,
    ModelVersion,
    Photo,
    Product,
    utcnow,
)

# What each field feeds (search.indexing builds the point), so an update redoes only that part:
IMAGE_FIELDS = ("image_sha256",)  # the photo vector: re-embed photo and text
TEXT_FIELDS = ("title",)  # the dense text vector (`dense_text`)
LEXICAL_FIELDS = ("title", "brand", "category", "colour", "gender")  # the sparse vector (`lexical_text`)
# Fields copied into the vector payload for filtering: a change updates the payload only.
PAYLOAD_FIELDS = ("brand", "category", "gender", "colour", "price", "stock", "source")
EMBEDDED_FIELDS = (*IMAGE_FIELDS, *LEXICAL_FIELDS)  # some vector depends on each of these
PRODUCT_FIELDS = (
    "title", "brand", "price", "stock", "currency", "category", "gender", "colour", "description",
    "attributes", "url", "image_source", "image_path", "image_sha256",
)  # fmt: skip


class Change(enum.StrEnum):
    new = "new"
    embed = "embed"  # the photo changed: embed photo and text
    text = "text"  # the title changed: text and lexical vectors; the photo vector is kept
    lexical = "lexical"  # brand, category, colour or gender: lexical vector and payload, no encoder
    payload = "payload"  # only metadata changed (price, stock, …): the payload, nothing re-embedded
    unchanged = "unchanged"


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT (PostgreSQL, or SQLite in embedded mode): it has ON CONFLICT."""
    return {"postgresql": postgresql, "sqlite": sqlite}[session.get_bind().dialect.name].insert(table)


# A listing to upsert: (source, source_id, point_id, catalogue fields).
ListingRow = tuple[str, str, str, dict[str, Any]]


def upsert_products(session: Session, rows: Sequence[ListingRow]) -> list[tuple[Product, Change]]:
    """Insert or update listings keyed by (source, source_id), in order; say what changed for each.

    A chunk of a feed costs two statements, not two per listing: one SELECT of those already
    catalogued, one multi-row INSERT … ON CONFLICT DO NOTHING of the new ones. A listing that
    another transaction (a second job over the same feed) inserted meanwhile is then updated
    instead of failing this job. A listing twice in `rows` is inserted, then updated."""
    keys = [(source, source_id) for source, source_id, _, _ in rows]
    known = _products_by_keys(session, keys)
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for (source, source_id, point_id, fields), key in zip(rows, keys, strict=True):
        if key not in known and key not in values:
            values[key] = {"source": source, "source_id": source_id, "point_id": point_id,
                           **_product_values(fields)}  # fmt: skip
    inserted: set[tuple[str, str]] = set()
    if values:
        # executemany form: SQLAlchemy batches the rows into multi-row INSERTs itself, within the
        # backend's parameter limits, and compiles the statement once (2.5x faster than .values()).
        stmt = _insert(session, Product).on_conflict_do_nothing().returning(Product)
        for product in session.scalars(stmt, list(values.values())):
            known[(product.source, product.source_id)] = product
            inserted.add((product.source, product.source_id))
    if len(inserted) < len(values):  # lost races: the rows are there now
        known |= _products_by_keys(session, [k for k in values if k not in inserted])
    results = []
    for (source, source_id, point_id, fields), key in zip(rows, keys, strict=True):
        product = known.get(key)
        if product is None:
            raise RuntimeError(f"listing {source}/{source_id}: its point id {point_id} is another's")
        if key in inserted:
            inserted.discard(key)  # a second row of the same listing is an update
            results.append((product, Change.new))
        else:
            results.append((product, _apply(product, _product_values(fields))))
    return results


def _products_by_keys(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Product]:
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    q = select(Product).where(tuple_(Product.source, Product.source_id).in_(wanted))
    return {(p.source, p.source_id): p for p in session.scalars(q)}


def _product_values(fields: dict[str, Any]) -> dict[str, Any]:
    values = {k: fields.get(k) for k in PRODUCT_FIELDS}
    values["attributes"] = values["attributes"] or {}
    return values


def _apply(product: Product, values: dict[str, Any]) -> Change:
    """Write `values` into a catalogued listing; what changed decides the work."""
    changed = {k for k, v in values.items() if getattr(product, k) != v}
    for k in changed:
        setattr(product, k, values[k])
    if changed & set(IMAGE_FIELDS):
        product.embedded_model = None  # its vectors are stale until the embed batch runs
        return Change.embed
    if changed & set(TEXT_FIELDS):
        return Change.text
    if changed & set(LEXICAL_FIELDS):
        return Change.lexical
    if changed:
        return Change.payload
    return Change.unchanged


def get_product(session: Session, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def products_by_ids(session: Session, ids: Sequence[int]) -> list[Product]:
    rows = session.scalars(select(Product).where(Product.id.in_(ids))).all()
    by_id = {p.id: p for p in rows}
    return [by_id[i] for i in ids if i in by_id]


def products_by_point_ids(session: Session, point_ids: Sequence[str]) -> dict[str, Product]:
    rows = session.scalars(select(Product).where(Product.point_id.in_(point_ids))).all()
    return {p.point_id: p for p in rows}


def iter_product_ids(session: Session, batch: int = 1000) -> Iterable[list[int]]:
    last = 0
    while True:
        ids = session.scalars(
            select(Product.id).where(Product.id > last).order_by(Product.id).limit(batch)
        ).all()
        if not ids:
            return
        yield list(ids)
        last = ids[-1]


def distinct_brands(session: Session) -> list[str]:
    return [
        b for b in session.scalars(select(Product.brand).where(Product.brand.is_not(None)).distinct()) if b
    ]


def main_currency(session: Session) -> str | None:
    """The catalogue's most common currency (price facets are bucketed in it)."""
    q = select(Product.currency).group_by(Product.currency).order_by(func.count().desc()).limit(1)
    return session.scalar(q)


def count_products(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Product)) or 0


def set_groups(session: Session, groups: dict[int, str]) -> None:
    """One executemany, not a statement per product. Core, not the ORM's bulk UPDATE by primary
    key: that one raises when a row is gone (a product deleted while its batch waited), which
    must simply update nothing."""
    if groups:
        table = Product.__table__
        stmt = update(table).where(table.c.id == bindparam("pid")).values(group_id=bindparam("gid"))
        session.execute(stmt, [{"pid": pid, "gid": g} for pid, g in groups.items()])


@dataclass
class Offers:
    count: int
    price_min: float | None
    price_max: float | None


def group_offers(session: Session, group_ids: Sequence[str]) -> dict[str, Offers]:
    """Listings per group with their price range: how many sellers offer the shoe, and for how much."""
    if not group_ids:
        return {}
    q = (
        select(Product.group_id, func.count(), func.min(Product.price), func.max(Product.price))
        .where(Product.group_id.in_(group_ids))
        .group_by(Product.group_id)
    )
    return {g: Offers(n, lo, hi) for g, n, lo, hi in session.execute(q)}


def mark_embedded(session: Session, ids: Sequence[int], model_version: str) -> None:
    session.execute(
        update(Product).where(Product.id.in_(ids)).values(embedded_model=model_version, embedded_at=utcnow())
    )


def mark_stale(session: Session, ids: Sequence[int]) -> None:
    """Their vectors could not be brought up to date: the next ingest re-embeds them in full."""
    session.execute(update(Product).where(Product.id.in_(ids)).values(embedded_model=None))


# --- ingest jobs -------------------------------------------------------------------------------


def create_job(
    session: Session,
    feed: str,
    format: str | None,
    source: str | None,
    priority: str = JobPriority.bulk,
    photo_roots: list[str] | None = None,
) -> IngestJob:
    job = IngestJob(
        feed=feed,
        format=format,
        source=source,
        status=JobStatus.pending,
        priority=priority,
        photo_roots=photo_roots,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> IngestJob | None:
    return session.get(IngestJob, job_id)


def list_jobs(session: Session, limit: int = 50) -> list[IngestJob]:
    return list(session.scalars(select(IngestJob).order_by(IngestJob.id.desc()).limit(limit)))


def job_status_counts(session: Session) -> dict[str, int]:
    """Ingest jobs per status (every status, zeros included): the metrics' job-state gauge."""
    counts = dict.fromkeys((s.value for s in JobStatus), 0)
    for status, n in session.execute(select(IngestJob.status, func.count()).group_by(IngestJob.status)):
        counts[str(status)] = n
    return counts


def job_errors(session: Session, job_id: int, limit: int = 200, offset: int = 0) -> list[IngestError]:
    q = select(IngestError).where(IngestError.job_id == job_id).order_by(IngestError.id)
    return list(session.scalars(q.limit(limit).offset(offset)))


def add_error(
    session: Session,
    job_id: int,
    stage: str,
    reason: str,
    line: int | None = None,
    source_id: str | None = None,
    record: dict[str, Any] | None = None,
    attempts: int = 1,
) -> None:
    """One dead-letter entry: the item, the stage it failed at, why, and after how many attempts."""
    session.add(
        IngestError(
            job_id=job_id,
            stage=stage,
            reason=reason[:2000],
            line=line,
            source_id=source_id,
            record=record,
            attempts=attempts,
        )
    )


def dead_letter(
    session: Session,
    job_id: int | None = None,
    stage: str | None = None,
    source: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[IngestError]]:
    """Items that could not be ingested, newest first, and how many match in all."""
    q = select(IngestError)
    if job_id is not None:
        q = q.where(IngestError.job_id == job_id)
    if stage is not None:
        q = q.where(IngestError.stage == stage)
    if source is not None:
        q = q.join(IngestJob, IngestJob.id == IngestError.job_id).where(IngestJob.source == source)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(IngestError.id.desc()).limit(limit).offset(offset))
    return total, list(rows)


def start_job(session: Session, job_id: int) -> None:
    session.execute(
        update(IngestJob).where(IngestJob.id == job_id).values(status=JobStatus.running, started_at=utcnow())
    )


def set_job_total(session: Session, job_id: int, total: int) -> None:
    session.execute(update(IngestJob).where(IngestJob.id == job_id).values(total=total))


def advance_read(session: Session, job_id: int, expected: int, to: int) -> bool:
    """Claim the feed's items `expected`..`to` for this transaction: false when another task has
    read past `expected` already (the row stays locked until commit, so two never both win)."""
    res = session.execute(
        update(IngestJob).where(IngestJob.id == job_id, IngestJob.read == expected).values(read=to)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def mark_feed_read(session: Session, job_id: int) -> None:
    """Every item of the feed has been read and planned: the job completes with its last batch."""
    session.execute(update(IngestJob).where(IngestJob.id == job_id).values(feed_read_at=utcnow()))


def add_job_progress(
    session: Session,
    job_id: int,
    *,
    indexed: int = 0,
    unchanged: int = 0,
    updated: int = 0,
    failed: int = 0,
    batches: int = 0,
    images: int = 0,
    texts: int = 0,
) -> None:
    """Atomic counter increments: concurrent batch tasks never lose an update."""
    session.execute(
        update(IngestJob)
        .where(IngestJob.id == job_id)
        .values(
            indexed=IngestJob.indexed + indexed,
            unchanged=IngestJob.unchanged + unchanged,
            updated=IngestJob.updated + updated,
            failed=IngestJob.failed + failed,
            batches_done=IngestJob.batches_done + batches,
            images_encoded=IngestJob.images_encoded + images,
            texts_encoded=IngestJob.texts_encoded + texts,
        )
    )


def finish_job_if_done(session: Session, job_id: int) -> bool:
    """Mark the job completed once its feed is read and every batch has reported; true if this
    call finished it."""
    res = session.execute(
        update(IngestJob)
        .where(
            IngestJob.id == job_id,
            IngestJob.status == JobStatus.running,
            IngestJob.feed_read_at.is_not(None),
            IngestJob.batches_done >= IngestJob.batches_total,
        )
        .values(status=JobStatus.completed, finished_at=utcnow())
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def fail_job(session: Session, job_id: int, message: str) -> None:
    session.execute(
        update(IngestJob)
        .where(IngestJob.id == job_id)
        .values(status=JobStatus.failed, message=message[:2000], finished_at=utcnow())
    )


# --- embed batches: the backlog lives here, the broker holds a few ids per job ------------------

_OPEN = (BatchStatus.queued, BatchStatus.running)
_CLOSED = (BatchStatus.done, BatchStatus.failed)


def add_batch(session: Session, job_id: int, product_ids: Sequence[int], text_ids: Sequence[int]) -> int:
    seq = session.scalar(
        update(IngestJob)
        .where(IngestJob.id == job_id)
        .values(batches_total=IngestJob.batches_total + 1)
        .returning(IngestJob.batches_total)
    )
    batch = IngestBatch(
        job_id=job_id,
        seq=seq,
        product_ids=list(product_ids),
        text_ids=list(text_ids),
        status=BatchStatus.pending,
        attempts=0,
    )
    session.add(batch)
    session.flush()
    return batch.id


def claim_batches(session: Session, job_id: int, cap: int) -> list[int]:
    """Mark the job's next pending batches queued so that at most `cap` are queued or running, and
    return their ids. The job row is locked: two claims for one job never both take the last slot.
    FOR NO KEY UPDATE, as an UPDATE takes: a feed transaction inserting error or batch rows of the job
    (a key-share lock on it) does not hold a claim up."""
    session.execute(select(IngestJob.id).where(IngestJob.id == job_id).with_for_update(key_share=True))
    room = cap - queued_batches(session, job_id)
    if room <= 0:
        return []
    q = select(IngestBatch.id).where(IngestBatch.job_id == job_id, IngestBatch.status == BatchStatus.pending)
    ids = list(session.scalars(q.order_by(IngestBatch.seq).limit(room)))
    if ids:
        session.execute(
            update(IngestBatch)
            .where(IngestBatch.id.in_(ids))
            .values(status=BatchStatus.queued, queued_at=utcnow())
        )
    return ids


def release_batches(session: Session, ids: Sequence[int]) -> None:
    """Batches that could not be handed to the broker wait again."""
    session.execute(
        update(IngestBatch)
        .where(IngestBatch.id.in_(ids), IngestBatch.status == BatchStatus.queued)
        .values(status=BatchStatus.pending, queued_at=None)
    )


def queued_batches(session: Session, job_id: int) -> int:
    """Batches of the job in the broker or on a worker now."""
    q = select(func.count()).select_from(IngestBatch)
    return session.scalar(q.where(IngestBatch.job_id == job_id, IngestBatch.status.in_(_OPEN))) or 0


def unfinished_batches(session: Session, job_id: int, status: Sequence[str] | None = None) -> list[int]:
    """The job's batches not yet done or failed (or only those in `status`), in order."""
    wanted = status or (BatchStatus.pending, *_OPEN)
    q = select(IngestBatch.id).where(IngestBatch.job_id == job_id, IngestBatch.status.in_(wanted))
    return list(session.scalars(q.order_by(IngestBatch.seq)))


def start_batch(session: Session, batch_id: int) -> IngestBatch | None:
    """The batch, marked running; None when it is already closed (a redelivered message)."""
    batch = session.get(IngestBatch, batch_id, with_for_update=True)
    if batch is None or batch.status in _CLOSED:
        return None
    batch.status, batch.started_at, batch.attempts = BatchStatus.running, utcnow(), batch.attempts + 1
    session.flush()
    return batch


def close_batch(session: Session, batch_id: int, status: BatchStatus) -> bool:
    """Mark it done or failed; true if this call closed it (so its counts are added only once)."""
    res = session.execute(
        update(IngestBatch)
        .where(IngestBatch.id == batch_id, IngestBatch.status.not_in(_CLOSED))
        .values(status=status, finished_at=utcnow())
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def get_batch(session: Session, batch_id: int) -> IngestBatch | None:
    return session.get(IngestBatch, batch_id)


def job_batches(session: Session, job_id: int) -> list[IngestBatch]:
    q = select(IngestBatch).where(IngestBatch.job_id == job_id).order_by(IngestBatch.seq)
    return list(session.scalars(q))


# --- model versions ----------------------------------------------------------------------------


def register_model(
    session: Session,
    name: str,
    version: str,
    dim: int,
    collection: str,
    checkpoint_hash: str | None = None,
    state: ModelState = ModelState.building,
) -> ModelVersion:
    """The version's row, created in `state` if new (an existing row keeps its state)."""
    mv = session.scalar(select(ModelVersion).where(ModelVersion.version == version).with_for_update())
    if mv is None:
        mv = ModelVersion(
            name=name, version=version, dim=dim, collection=collection, checkpoint_hash=checkpoint_hash
        )
        mv.state = state
        session.add(mv)
        session.flush()
    return mv


def get_model(session: Session, model_id: int) -> ModelVersion | None:
    return session.get(ModelVersion, model_id)


def model_by_collection(session: Session, collection: str) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.collection == collection))


def model_in_state(session: Session, state: ModelState) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.state == state))


def list_models(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id)))


def promote_model(session: Session, mv: ModelVersion) -> None:
    """`mv` becomes live, the live one previous, the previous one retired. Flushed step by step:
    at most one live and one previous row may exist at any moment (unique partial indexes)."""
    live, previous = model_in_state(session, ModelState.live), model_in_state(session, ModelState.previous)
    if live is not None and live.id == mv.id:
        return
    for row, state in (
        (previous, ModelState.retired),
        (mv, ModelState.building),
        (live, ModelState.previous),
    ):
        if row is not None:
            row.state = state
            session.flush()
    mv.state, mv.activated_at = ModelState.live, utcnow()
    session.flush()


def start_fill(session: Session, model_id: int, batches: int) -> None:
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.id == model_id)
        .values(batches_total=batches, batches_done=0, failed=0, message=None)
    )


def add_fill_progress(
    session: Session, model_id: int, *, batches: int = 1, failed: int = 0, message: str | None = None
) -> None:
    """Atomic increments: batch tasks of one fill report concurrently."""
    values: dict[str, Any] = {
        "batches_done": ModelVersion.batches_done + batches,
        "failed": ModelVersion.failed + failed,
    }
    if message is not None:
        values["message"] = message[:2000]
    session.execute(update(ModelVersion).where(ModelVersion.id == model_id).values(**values))


def record_embedded(session: Session, ids: Sequence[int], model_version: str) -> None:
    """`mark_embedded` that leaves `updated_at` alone: a reindex or repair re-embedding a row does
    not change the listing, and reindex catch-ups look for changed rows by `updated_at`."""
    session.execute(
        update(Product)
        .where(Product.id.in_(ids))
        .values(embedded_model=model_version, embedded_at=utcnow(), updated_at=Product.updated_at)
    )


def all_point_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Product.point_id)))


def product_versions(session: Session, since: datetime | None = None) -> dict[int, datetime]:
    """Product id → `updated_at` (of rows updated from `since` on): what a reindex compares to
    see which rows changed while it ran."""
    q = select(Product.id, Product.updated_at)
    if since is not None:
        q = q.where(Product.updated_at >= since)
    return dict(session.execute(q).tuples().all())


# --- API keys ----------------------------------------------------------------------------------


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> str:
    """A new random key; returns it in clear (the only time it exists outside the caller)."""
    key = "cs_" + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, prefix=key[:10], key_hash=hash_key(key)))
    session.flush()
    return key


def api_key_valid(session: Session, key: str) -> bool:
    q = select(ApiKey.id).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    return session.scalar(q) is not None


def any_api_keys(session: Session) -> bool:
    return session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None


def revoke_api_key(session: Session, prefix: str) -> int:
    res = session.execute(
        update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return res.rowcount  # type: ignore[attr-defined]


# --- photos ------------------------------------------------------------------------------------


class SqlImageRegistry:
    """`ingest.photos.ImageRegistry` over the photos table, inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_sha256(self, sha256: str) -> Photo | None:
        return self.session.scalar(select(Photo).where(Photo.sha256 == sha256))

    def by_sha256_many(self, sha256s: Iterable[str]) -> dict[str, Photo]:
        wanted = list(sha256s)
        if not wanted:
            return {}
        return {p.sha256: p for p in self.session.scalars(select(Photo).where(Photo.sha256.in_(wanted)))}

    def by_source(self, source: str) -> Photo | None:
        return self.session.scalar(select(Photo).where(Photo.source == source).order_by(Photo.id).limit(1))

    def originals_since(self, last_id: int) -> Sequence[Any]:
        """Photos with their own stored copy, id > last_id: just what near-duplicate search needs."""
        q = select(Photo.id, Photo.sha256, Photo.phash).where(
            Photo.id > last_id, Photo.duplicate_of.is_(None)
        )
        return self.session.execute(q.order_by(Photo.id)).all()

    def add_many(self, records: Sequence[Any]) -> dict[str, Any]:
        """Insert photos (`ingest.photos.PhotoRecord`s) in one statement; sha256 → the row of each.
        Where the sha256 is there already (another worker won a race) that row is returned."""
        if not records:
            return {}
        # In sha256 order: two workers inserting overlapping photos take the row locks in the
        # same order, so one waits for the other instead of deadlocking.
        ordered = sorted(records, key=lambda r: r.sha256)
        values = [{k: v for k, v in asdict(r).items() if k != "id"} for r in ordered]
        table = Photo.__table__
        # Core, not ORM: no objects to build, and one INSERT per chunk of a feed.
        stmt = _insert(self.session, table).on_conflict_do_nothing().returning(table.c.sha256, table.c.id)
        ids = dict(self.session.execute(stmt, values).tuples().all())
        rows: dict[str, Any] = {r.sha256: replace(r, id=ids[r.sha256]) for r in records if r.sha256 in ids}
        if len(rows) < len(records):
            rows |= self.by_sha256_many(r.sha256 for r in records if r.sha256 not in rows)
        return rows
