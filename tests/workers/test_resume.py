"""A job whose messages the broker lost (a Redis restart without persistence) is picked up again
from its rows, and a feed read in several tasks counts every item once."""

from __future__ import annotations

import redis

from clipshoe.runtime import get_runtime
from tests.integration import wait_for_job
from tests.workers.helpers import holding_job, job_row, photo_feed, submit, wait_until


def test_resume_sends_a_lost_job_again_and_counts_every_item_once(client, tmp_path) -> None:
    first = submit(client, photo_feed(tmp_path / "a", "resume-a", 8))
    wait_until(lambda: job_row(first).status == "running", "the first job to start")
    with holding_job(first):  # the worker is busy: the second job's message waits in the broker…
        lost = submit(client, photo_feed(tmp_path / "b", "resume-b", 8))
        assert (
            redis.Redis.from_url(get_runtime().settings.broker.url).delete("ingest.bulk") == 1
        )  # …and is lost
    assert wait_for_job(client, first)["status"] == "completed"
    assert job_row(lost).status == "pending"  # nothing will ever run it

    for _ in range(2):  # twice: a duplicate message must not count anything twice
        r = client.post(f"/ingest/jobs/{lost}/resume")
        assert r.status_code == 202, r.text
    job = wait_for_job(client, lost)
    assert job["status"] == "completed"
    assert job["total"] == job["read"] == job["done"] == job["indexed"] == 8
    assert job["batches_done"] == job["batches_total"]
    assert client.post(f"/ingest/jobs/{lost}/resume").status_code == 409
    assert client.post("/ingest/jobs/999999/resume").status_code == 404


def test_a_feed_read_in_several_tasks_lands_every_item_once(client, tmp_path, monkeypatch) -> None:
    settings = get_runtime().settings.ingest
    monkeypatch.setattr(settings, "batch_size", 4)
    monkeypatch.setattr(settings, "feed_task_items", 5)  # 13 items: three feed tasks
    job = wait_for_job(client, submit(client, photo_feed(tmp_path, "chunked", 13)))
    assert job["status"] == "completed"
    assert job["total"] == job["read"] == job["done"] == job["indexed"] == 13
    # Each task plans its own items: 5 → 4 + 1, 5 → 4 + 1, 3 → 3.
    assert job["batches_total"] == job["batches_done"] == 5
