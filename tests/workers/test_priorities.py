"""Two priorities and backpressure, through the real broker and worker: the order is read from
the batch rows the pipeline records, never from the clock."""

from __future__ import annotations

import pytest
import redis

from catalog import repository
from catalog.models import BatchStatus
from clipshoe.runtime import get_runtime
from tests.integration import wait_for_job
from tests.workers.helpers import holding_job, job_row, photo_feed, submit, wait_until
from workers.celery_app import QUEUES, queue_for, worker_queues


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four products per embed batch, so a few dozen products make a real backlog."""
    monkeypatch.setattr(get_runtime().settings.ingest, "batch_size", 4)


def test_queues_are_drained_live_first() -> None:
    assert QUEUES.index("ingest.live") < QUEUES.index("encode.bulk")
    assert QUEUES.index("encode.live") < QUEUES.index("encode.bulk")
    assert worker_queues("ingest,encode") == list(QUEUES)
    assert worker_queues("encode") == ["encode.live", "encode.bulk"]  # the GPU worker's queues
    assert worker_queues("encode.bulk,ingest.live") == ["ingest.live", "encode.bulk"]
    assert queue_for("encode", "live") == "encode.live"
    with pytest.raises(ValueError, match="unknown queue"):
        worker_queues("images")


def test_live_job_overtakes_a_queued_bulk_backfill(client, tmp_path, small_batches, monkeypatch) -> None:
    monkeypatch.setattr(get_runtime().settings.ingest, "max_queued_batches", 1)
    bulk = submit(client, photo_feed(tmp_path / "bulk", "prio-bulk", 40))
    live_feed = photo_feed(tmp_path / "live", "prio-live", 4)
    wait_until(lambda: job_row(bulk).status == "running", "the bulk job to start")
    with holding_job(bulk):  # the worker is inside a bulk task: the live job arrives behind it
        live = submit(client, live_feed, "live")
    live_job, bulk_job = wait_for_job(client, live), wait_for_job(client, bulk)
    assert live_job["status"] == bulk_job["status"] == "completed"
    assert (live_job["priority"], bulk_job["priority"]) == ("live", "bulk")
    assert live_job["indexed"] == 4 and bulk_job["indexed"] == 40

    with get_runtime().sessions() as s:
        live_created = repository.get_job(s, live).created_at  # type: ignore[union-attr]
        [live_batch] = repository.job_batches(s, live)
        bulk_batches = repository.job_batches(s, bulk)
    assert len(bulk_batches) == 10
    # Not one bulk batch started between the live job's arrival and its end: the worker took the
    # live feed and the live batch before anything queued for the backfill.
    overtaken = [b.seq for b in bulk_batches if live_created < b.started_at < live_batch.finished_at]
    assert overtaken == []
    assert sum(b.finished_at > live_batch.finished_at for b in bulk_batches) >= 8
    assert job_row(live).finished_at < job_row(bulk).finished_at


def test_a_job_never_has_more_than_its_cap_of_batches_in_the_broker(
    client, tmp_path, small_batches, monkeypatch
) -> None:
    cap = 2
    monkeypatch.setattr(get_runtime().settings.ingest, "max_queued_batches", cap)
    job_id = submit(client, photo_feed(tmp_path, "cap-bulk", 40))
    wait_until(lambda: job_row(job_id).batches_total >= 6, "six batches to be planned")
    with holding_job(job_id):  # a snapshot while the worker holds a task of this job
        with get_runtime().sessions() as s:
            batches = repository.job_batches(s, job_id)
        in_broker = redis.Redis.from_url(get_runtime().settings.broker.url).llen("encode.bulk")
        open_ = [b for b in batches if b.status in (BatchStatus.queued, BatchStatus.running)]
        assert 1 <= len(open_) <= cap
        assert in_broker <= cap
        assert any(b.status == BatchStatus.pending for b in batches)  # the backlog waits as rows
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed" and job["indexed"] == 40 and job["batches_done"] == 10

    with get_runtime().sessions() as s:
        batches = repository.job_batches(s, job_id)
    assert all(b.status == BatchStatus.done for b in batches)
    # Replay the record: whenever a batch was handed to the broker, at most `cap` batches of the
    # job (itself included) had been handed over and not yet finished.
    for b in batches:
        outstanding = [c for c in batches if c.queued_at <= b.queued_at < c.finished_at]
        assert len(outstanding) <= cap, (b.seq, [c.seq for c in outstanding])
    assert [b.seq for b in sorted(batches, key=lambda b: b.queued_at)] == list(range(1, 11))
