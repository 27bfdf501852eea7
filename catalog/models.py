"""SQLAlchemy models: Postgres (or the embedded SQLite file) is the source of truth for metadata.

Qdrant keeps only the vectors and the few payload fields that filtering needs; everything a
result shows comes from here.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# JSONB on Postgres (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_products_source_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    point_id: Mapped[str] = mapped_column(String(36), unique=True)  # uuid5(source, source_id)
    title: Mapped[str] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(String(128))
    price: Mapped[float | None] = mapped_column(Float)
    stock: Mapped[int | None] = mapped_column(Integer)  # units on hand; None = the feed does not say
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    category: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(16))
    colour: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    url: Mapped[str | None] = mapped_column(Text)
    image_source: Mapped[str | None] = mapped_column(Text)  # where the photo came from (path or URL)
    image_path: Mapped[str | None] = mapped_column(String(128))  # stored copy, relative to the media dir
    image_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # Listings of the same shoe (identical or near-identical photo, same brand) share a group:
    # the point id of one of them. Search shows a group once, with its number of offers.
    group_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # Which model's vectors the index holds for this row; NULL = needs embedding.
    embedded_model: Mapped[str | None] = mapped_column(String(128))
    embedded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Photo(Base):
    """A product photo ClipShoe has read (ingest/photos.py): exact and near duplicates are linked."""

    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_source", "source", postgresql_using="hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the bytes as read or downloaded
    phash: Mapped[str] = mapped_column(String(16))  # perceptual hash, 16 hex digits
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(128))  # the stored copy it uses (its own or duplicate_of's)
    duplicate_of: Mapped[str | None] = mapped_column(String(64))  # sha256 whose stored copy it reuses
    distance: Mapped[int | None] = mapped_column(Integer)  # perceptual-hash bits to that photo
    source: Mapped[str | None] = mapped_column(Text)  # first URL or path it was read from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"


class JobPriority(enum.StrEnum):
    """A merchant's live update goes before a bulk backfill: each has its own queues."""

    live = "live"
    bulk = "bulk"


class IngestJob(Base):
    __tablename__ = "ingest_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.pending)
    priority: Mapped[str] = mapped_column(String(8), default=JobPriority.bulk)
    feed: Mapped[str] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    # Folders its local photos must lie in (a feed submitted through the API); None: anywhere (CLI).
    photo_roots: Mapped[list[str] | None] = mapped_column(JSONType)
    total: Mapped[int] = mapped_column(Integer, default=0)  # items in the feed
    read: Mapped[int] = mapped_column(Integer, default=0)  # items read so far: where a feed task resumes
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    indexed: Mapped[int] = mapped_column(Integer, default=0)  # products embedded and upserted
    unchanged: Mapped[int] = mapped_column(Integer, default=0)  # already indexed with this model
    failed: Mapped[int] = mapped_column(Integer, default=0)  # items with a recorded error
    updated: Mapped[int] = mapped_column(Integer, default=0)  # partial updates: payload or text only
    images_encoded: Mapped[int] = mapped_column(Integer, default=0)  # encoder calls, item by item
    texts_encoded: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feed_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # all batches planned
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    errors: Mapped[list[IngestError]] = relationship(
        back_populates="job", order_by="IngestError.id", cascade="all, delete-orphan"
    )


class BatchStatus(enum.StrEnum):
    pending = "pending"  # planned, waiting in the database
    queued = "queued"  # handed to the broker (at most `ingest.max_queued_batches` per job)
    running = "running"
    done = "done"
    failed = "failed"  # its products are in the dead letter


class IngestBatch(Base):
    """Products one embed task handles. Rows, not messages, hold the backlog: the broker only
    ever carries a job's next few batch ids."""

    __tablename__ = "ingest_batches"
    __table_args__ = (
        UniqueConstraint("job_id", "seq", name="uq_ingest_batches_job_seq"),
        Index("ix_ingest_batches_job_status", "job_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ingest_jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    product_ids: Mapped[list[int]] = mapped_column(JSONType)  # embed photo and text
    text_ids: Mapped[list[int]] = mapped_column(JSONType)  # title changed: text vector only
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IngestError(Base):
    """The dead letter: one item that could not be ingested, at which stage, and why."""

    __tablename__ = "ingest_errors"
    __table_args__ = (
        Index("ix_ingest_errors_job", "job_id"),
        Index("ix_ingest_errors_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ingest_jobs.id", ondelete="CASCADE"))
    line: Mapped[int | None] = mapped_column(Integer)
    source_id: Mapped[str | None] = mapped_column(String(128))
    stage: Mapped[str] = mapped_column(String(16))  # feed | image | embed
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the item as read, to retry it
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    job: Mapped[IngestJob] = relationship(back_populates="errors")


class ModelState(enum.StrEnum):
    """Life of a model version (docs/ops-models.md); the alias, not this column, decides what serves."""

    building = "building"  # its collection is being backfilled
    failed = "failed"  # a build that did not verify; never went live
    live = "live"  # the alias points at its collection
    previous = "previous"  # live before the current one: what `clipshoe rollback` returns to
    retired = "retired"  # older; collection kept until `clipshoe prune`
    pruned = "pruned"  # collection deleted


class ModelVersion(Base):
    """A model whose vectors live in one collection; the live one is behind the index alias."""

    __tablename__ = "model_versions"
    __table_args__ = tuple(
        Index(f"uq_model_versions_{s}", "state", unique=True, postgresql_where=w, sqlite_where=w)
        for s in ("live", "previous")
        for w in [text(f"state = '{s}'")]
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))  # what create_encoder() builds it from
    version: Mapped[str] = mapped_column(String(128), unique=True)
    dim: Mapped[int] = mapped_column(Integer)
    collection: Mapped[str] = mapped_column(String(160))
    state: Mapped[str] = mapped_column(String(16), default=ModelState.building)
    checkpoint_hash: Mapped[str | None] = mapped_column(String(64))  # content hash of the weights
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # e.g. `clipshoe eval --json` metrics
    points: Mapped[int | None] = mapped_column(Integer)  # counted when the build verified
    batches_total: Mapped[int] = mapped_column(Integer, default=0)  # the current fill of its collection
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)  # products the current fill could not embed
    message: Mapped[str | None] = mapped_column(Text)  # last error or verification result
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A key for write and admin endpoints. Only its SHA-256 is stored; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(12))  # first characters, to tell keys apart in lists
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
