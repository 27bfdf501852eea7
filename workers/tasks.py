"""Celery tasks. Messages carry ids only; each task reloads state and is idempotent."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError

from catalog.vector_index import IndexUnavailable
from clipshoe.runtime import get_runtime
from workers import pipeline
from workers.celery_app import celery_app

log = logging.getLogger(__name__)

# Transient failures (a broker, database or index blip) are retried with backoff;
# anything else is a bug or bad data and is recorded on the job instead.
TRANSIENT = (OperationalError, IndexUnavailable, ConnectionError, TimeoutError)


def task(name: str, **kw: Any):  # type: ignore[no-untyped-def]
    """The one task decorator: explicit name, late ack, bounded retries with backoff."""
    return celery_app.task(
        name=name,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=TRANSIENT,
        retry_backoff=2,
        retry_backoff_max=120,
        retry_jitter=True,
        max_retries=8,
        soft_time_limit=1800,
        time_limit=1900,
        **kw,
    )


@task("clipshoe.ingest.feed")
def ingest_feed(self, job_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Read a feed into the catalogue and fan its products out to embed batches."""
    batches = pipeline.plan_job(get_runtime(), job_id)
    for batch in batches:
        embed_batch.delay(job_id, batch)
    if not batches:
        pipeline.finish_job(get_runtime(), job_id)
    return {"batches": len(batches)}


@task("clipshoe.encode.batch")
def embed_batch(self, job_id: int | None, product_ids: list[int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Embed products and upsert their points (GPU workers read this queue)."""
    return pipeline.embed_batch(get_runtime(), job_id, product_ids)


@task("clipshoe.encode.model_batch")
def model_batch(self, model_id: int, product_ids: list[int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Embed products with one registered model version into its own collection (reindex, repair)."""
    from workers import reindex

    return reindex.fill_batch(get_runtime(), model_id, product_ids)


@task("clipshoe.ingest.repair_points")
def repair_points(self, model_id: int, product_ids: list[int], orphan_ids: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """`clipshoe doctor --repair`: rewrite stale payloads, delete orphaned points."""
    from workers import doctor

    return doctor.repair_points(get_runtime(), model_id, product_ids, orphan_ids)
