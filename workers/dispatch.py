"""Hand an ingest job to the workers, or, in embedded mode, to a background thread here."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from clipshoe.runtime import Runtime
from workers.tasks import ingest_feed

log = logging.getLogger(__name__)

# Embedded mode: one job at a time in this process (the embedded index has one owner anyway);
# the API answers at once and the job runs beside it.
_local = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clipshoe-ingest")


def _run_eagerly(job_id: int) -> None:
    try:
        ingest_feed.apply(args=(job_id,), throw=True)
    except Exception:  # the job row already says why; keep the thread alive for the next job
        log.exception("ingest job %s failed", job_id)


def submit_job(rt: Runtime, job_id: int, wait: bool = False) -> Future[None] | None:
    if rt.settings.embedded:
        future = _local.submit(_run_eagerly, job_id)
        if wait:
            future.result()
        return future
    ingest_feed.delay(job_id)
    return None
