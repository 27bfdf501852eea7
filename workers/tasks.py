"""Celery tasks. Messages carry ids only; each task reloads state and is idempotent."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from catalog import repository
from catalog.models import BatchStatus, JobPriority, JobStatus
from catalog.vector_index import IndexUnavailable
from clipshoe.runtime import Runtime, get_runtime
from workers import pipeline
from workers.celery_app import celery_app, queue_for

log = logging.getLogger(__name__)

# Transient failures (a broker, database or index blip) are retried with backoff;
# anything else is a bug or bad data and is recorded on the job instead.
TRANSIENT = (OperationalError, IndexUnavailable, ConnectionError, TimeoutError)


def task(name: str, **kw: Any):  # type: ignore[no-untyped-def]
    """The one task decorator: explicit name, late ack, bounded retries with backoff."""
    options: dict[str, Any] = {
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": TRANSIENT,
        "retry_backoff": 2,
        "retry_backoff_max": 120,
        "retry_jitter": True,
        "max_retries": 8,
        "soft_time_limit": 1800,
        "time_limit": 1900,
    }
    return celery_app.task(name=name, **(options | kw))


class DeadLetterOnFailure(Task):
    """An embed batch that fails for good (bad data at once, a transient error once its retries are
    spent) puts its products in the dead letter; the job goes on with its next batches."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):  # type: ignore[no-untyped-def]
        job_id, batch_id = (*args, *kwargs.values())[:2]
        rt = get_runtime()
        attempts = self.request.retries + 1
        pipeline.fail_batch(rt, batch_id, f"{type(exc).__name__}: {exc}", attempts=attempts)
        pump(rt, job_id)


class FailJobOnFailure(Task):
    """A feed task that fails for good (bad data at once, a transient error once its retries are
    spent) fails its job with the reason; until then each retry resumes where the feed was left."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):  # type: ignore[no-untyped-def]
        pipeline.abandon_job(get_runtime(), (*args, *kwargs.values())[0], exc)


def pump(rt: Runtime, job_id: int, retry_policy: dict[str, Any] | None = None) -> int:
    """Hand the job's next batches to the broker, at most `ingest.max_queued_batches` of them queued
    or running at once (backpressure: the backlog waits as rows, not as messages); return how many.
    `retry_policy`: how long publishing waits out a broker outage (None: the workers' long one)."""
    with rt.sessions.begin() as s:
        job = repository.get_job(s, job_id)
        if job is None or job.status != JobStatus.running:
            return 0
        queue = queue_for("encode", job.priority)
        ids = repository.claim_batches(s, job_id, rt.settings.ingest.max_queued_batches)
    for n, batch_id in enumerate(ids):
        try:
            embed_batch.apply_async((job_id, batch_id), queue=queue, retry_policy=retry_policy)
        except Exception:
            with rt.sessions.begin() as s:
                repository.release_batches(s, ids[n:])
            raise
    return len(ids)


def resend(rt: Runtime, job_id: int, retry_policy: dict[str, Any] | None = None) -> dict[str, int]:
    """Send again what an unfinished job waits for, after the broker lost messages (a Redis restart
    without persistence, a flushed queue): its feed task if the feed is not read to the end, and its
    queued or running batches. A duplicate is harmless: a second feed task stops at the first chunk
    another task has read, and a batch adds its counts once. Returns what was sent. A caller that
    answers someone (the API, the CLI) passes a short `retry_policy`, as `pump` takes it."""
    with rt.sessions() as s:
        job = repository.get_job(s, job_id)
        if job is None:
            raise LookupError(f"ingest job {job_id} does not exist")
        if job.status not in (JobStatus.pending, JobStatus.running):
            return {"feed": 0, "batches": 0}
        feed = job.feed_read_at is None
        stuck = repository.unfinished_batches(s, job_id, (BatchStatus.queued, BatchStatus.running))
        priority = job.priority
    if feed:
        ingest_feed.apply_async((job_id,), queue=queue_for("ingest", priority), retry_policy=retry_policy)
    for batch_id in stuck:
        embed_batch.apply_async(
            (job_id, batch_id), queue=queue_for("encode", priority), retry_policy=retry_policy
        )
    sent = 0 if job.status == JobStatus.pending else pump(rt, job_id, retry_policy)
    return {"feed": int(feed), "batches": len(stuck) + sent}


@task("clipshoe.ingest.feed", base=FailJobOnFailure, soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300)
def ingest_feed(self, job_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Read the next `ingest.feed_task_items` items of a job's feed into rows and batches, hand
    batches to the encoders as room frees up, and queue its own continuation if the feed goes on."""
    rt = get_runtime()
    batches = pipeline.plan_job(
        rt,
        job_id,
        on_chunk=lambda: pump(rt, job_id),
        max_items=rt.settings.ingest.feed_task_items,
        retryable=TRANSIENT,
    )
    pump(rt, job_id)
    with rt.sessions() as s:
        job = repository.get_job(s, job_id)
        more = job is not None and job.status == JobStatus.running and job.feed_read_at is None
        priority = job.priority if job is not None else JobPriority.bulk
    if more:
        ingest_feed.apply_async((job_id,), queue=queue_for("ingest", priority))
    else:
        pipeline.finish_job(rt, job_id)  # a feed with nothing (more) to embed completes here
    return {"batches": len(batches), "more": int(more)}


@task("clipshoe.encode.batch", base=DeadLetterOnFailure)
def embed_batch(self, job_id: int, batch_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Embed one batch row and upsert or update its points (GPU workers read this queue)."""
    rt = get_runtime()
    result = pipeline.embed_batch(rt, job_id, batch_id)
    pump(rt, job_id)
    return result


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
