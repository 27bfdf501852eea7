"""Hand an ingest job to the workers, or, in embedded mode, to a background thread here."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from kombu.exceptions import OperationalError as BrokerUnavailable

from catalog import repository
from clipshoe.runtime import Runtime
from workers import pipeline
from workers.celery_app import queue_for
from workers.tasks import ingest_feed, resend

log = logging.getLogger(__name__)

# Starting or resuming a job (an API request, the CLI) gives up within about 2 s when the broker is
# down, instead of waiting out a restart as the workers' own publishing does (workers/celery_app.py).
SUBMIT_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}

# Embedded mode: one job at a time in this process (the embedded index has one owner anyway), in
# the order submitted; the API answers at once and the job runs beside it.
_local = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clipshoe-ingest")


def _run_here(rt: Runtime, job_id: int) -> None:
    try:
        pipeline.run_job(rt, job_id)
    except Exception as exc:  # keep the thread alive for the next job
        log.exception("ingest job %s failed", job_id)
        try:  # nothing retries it here: say why on the job (the vector store was locked, say)
            pipeline.abandon_job(rt, job_id, exc)
        except Exception:
            log.exception("ingest job %s: could not record its failure", job_id)


def submit_job(rt: Runtime, job_id: int, wait: bool = False) -> Future[None] | None:
    """Start a job created with `repository.create_job`: its feed task goes to the ingest queue of
    the job's priority (`ingest.live` before `ingest.bulk`)."""
    if rt.settings.embedded:
        future = _local.submit(_run_here, rt, job_id)
        if wait:
            future.result()
        return future
    with rt.sessions() as s:
        job = repository.get_job(s, job_id)
        if job is None:
            raise LookupError(f"ingest job {job_id} does not exist")
        queue = queue_for("ingest", job.priority)
    try:
        ingest_feed.apply_async((job_id,), queue=queue, retry_policy=SUBMIT_RETRY)
    except BrokerUnavailable as exc:
        pipeline.abandon_job(rt, job_id, exc)  # say why it never ran, rather than 'pending' for ever
        raise
    return None


def resume_job(rt: Runtime, job_id: int) -> dict[str, int]:
    """Pick up an unfinished job whose messages were lost (broker restart) or whose process stopped
    (embedded): it goes on from where its rows say it was."""
    if rt.settings.embedded:
        submit_job(rt, job_id)
        return {"feed": 1, "batches": 0}
    return resend(rt, job_id, retry_policy=SUBMIT_RETRY)
