"""Fault 6: the same feed ingested by two jobs at once (a retried upload, two operators, a cron
overlapping a manual run). Their feed tasks really run at the same time and insert the same
listings in overlapping transactions: threads of the worker process that owns the embedded store
here, as two worker processes would against a Qdrant server. Both jobs complete, and every
listing is one row and one point.

The listings have no photos: two feed tasks of one process storing the same photo can hang on the
photo store's lock (docs/faults.md, bench/faults/concurrent_photos.py)."""

from __future__ import annotations

from pathlib import Path

from catalog.models import JobStatus
from tests.faults.stack import READING_THE_FEED, FaultStack, assert_stored_once, photo_feed, stalled_together

N = 24


def test_same_feed_in_two_jobs_at_once(stack: FaultStack, tmp_path: Path) -> None:
    feed = photo_feed(tmp_path / "feed", "twice", N, photos=False)
    worker = stack.worker("--pool", "threads", "--concurrency", "4")  # both feed tasks at once
    try:
        first, second = stack.submit(feed), stack.submit(feed)
        # Both feed tasks held just before they read the feed, then let go at the same instant.
        with stalled_together(stack, [first, second], READING_THE_FEED):
            pass
        jobs = [stack.wait_job(job_id, worker) for job_id in (first, second)]
    finally:
        worker.stop()
    for job in jobs:
        assert job.status == JobStatus.completed, job.message
        assert (job.total, job.failed) == (N, 0)
        assert job.indexed + job.unchanged + job.updated == N
    assert_stored_once(stack, "twice", N)
