"""Fault 1: a worker SIGKILLed in the middle of an embed batch (after the batch's points went into
the index, before its rows were committed). The job still completes, and every product is stored
exactly once: one row, one point (acks_late + reject_on_worker_lost redeliver the batch; point ids
and batch rows make the redelivery harmless)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from catalog import repository
from catalog.models import BatchStatus, JobStatus
from tests.faults.stack import (
    FaultStack,
    assert_completed,
    assert_stored_once,
    photo_feed,
    stalled_mid_batch,
    wait_until,
)

N = 32  # 8 batches of 4


def assert_batches_redone(stack: FaultStack, job_id: int, killed: list[int]) -> None:
    with stack.rt.sessions() as s:
        batches = repository.job_batches(s, job_id)
    assert all(b.status == BatchStatus.done for b in batches)
    assert all(b.attempts >= 2 for b in batches if b.id in killed), "a batch caught mid-way was not run again"


def test_pool_process_killed_mid_batch(stack: FaultStack, tmp_path: Path) -> None:
    """The process running the task dies (the OOM killer): the worker's main process sees it go,
    hands the message back, and a fresh pool process redoes the batch at once."""
    feed = photo_feed(tmp_path / "feed", "killpool", N)
    worker = stack.worker("--pool", "prefork")  # tasks run in a child process
    try:
        job_id = stack.submit(feed)
        with stalled_mid_batch(stack, job_id) as (batches, _):
            [child] = worker.children()
            os.kill(child, signal.SIGKILL)
            wait_until(lambda: child not in worker.children(), "the pool process to be gone")
        stack.wait_job(job_id, worker)
    finally:
        worker.stop()
    assert_completed(stack, job_id, N)
    assert_batches_redone(stack, job_id, batches)
    assert_stored_once(stack, "killpool", N)


def test_whole_worker_killed_mid_batch_and_restarted(stack: FaultStack, tmp_path: Path) -> None:
    """The whole worker dies at once (a node lost): its message stays unacknowledged in Redis and
    comes back to the next worker after the broker's visibility timeout (short here)."""
    feed = photo_feed(tmp_path / "feed", "killall", N)
    first = stack.worker()
    try:
        job_id = stack.submit(feed)
        with stalled_mid_batch(stack, job_id) as (batches, _):
            first.kill()
        assert stack.job(job_id).status == JobStatus.running
    finally:
        first.kill()
    second = stack.worker(CLIPSHOE_BROKER__VISIBILITY_TIMEOUT="10")
    try:
        stack.wait_job(job_id, second)
    finally:
        second.stop()
    assert_completed(stack, job_id, N)
    assert_batches_redone(stack, job_id, batches)
    assert_stored_once(stack, "killall", N)
