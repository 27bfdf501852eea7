"""Fault 3: every Postgres connection dropped (`pg_terminate_backend`: an admin, a failover, a
restarted PgBouncer) in the middle of a job. The statement in flight fails; pool_pre_ping replaces
the dead pooled connections, the task retries, and the job completes with every product stored
once, whether the drop hit a batch or the feed being read."""

from __future__ import annotations

from pathlib import Path

from tests.faults.stack import (
    READING_THE_FEED,
    FaultStack,
    assert_completed,
    assert_stored_once,
    photo_feed,
    stalled_mid_batch,
    stalled_on,
)

N = 32


def test_connections_dropped_while_a_batch_is_embedded(stack: FaultStack, tmp_path: Path) -> None:
    feed = photo_feed(tmp_path / "feed", "pgbatch", N)
    worker = stack.worker()
    try:
        job_id = stack.submit(feed)
        with stalled_mid_batch(stack, job_id) as (_, conn):
            assert stack.terminate_backends(conn) >= 1  # the worker's, in its batch's transaction
        stack.wait_job(job_id, worker, timeout=180)
    finally:
        worker.stop()
    assert_completed(stack, job_id, N)
    assert_stored_once(stack, "pgbatch", N)


def test_connections_dropped_while_the_feed_is_read(stack: FaultStack, tmp_path: Path) -> None:
    feed = photo_feed(tmp_path / "feed", "pgfeed", N)
    worker = stack.worker()
    try:
        job_id = stack.submit(feed)
        with stalled_on(stack, job_id, READING_THE_FEED) as conn:
            assert stack.terminate_backends(conn) >= 1  # the worker's, in its chunk's transaction
        stack.wait_job(job_id, worker, timeout=180)
    finally:
        worker.stop()
    assert_completed(stack, job_id, N)
    assert_stored_once(stack, "pgfeed", N)
