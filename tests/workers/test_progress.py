"""Job progress and ETA: in the API while a job runs and once it ends, and as the CLI's bar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from catalog.models import IngestJob, JobStatus, utcnow
from clipshoe.cli import app
from clipshoe.runtime import get_runtime
from tests.integration import wait_for_job
from tests.workers.helpers import holding_job, job_row, photo_feed, submit, wait_until
from workers.progress import job_progress


def test_progress_rate_and_eta_while_running_and_when_done(client, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(get_runtime().settings.ingest, "batch_size", 4)
    job_id = submit(client, photo_feed(tmp_path, "progress", 24))
    wait_until(lambda: job_row(job_id).batches_done >= 1, "a first batch")
    with holding_job(job_id):  # counters cannot move while we look
        job = client.get(f"/ingest/jobs/{job_id}").json()
    if job["status"] == "running":  # (a very fast machine may have finished already)
        assert job["total"] == 24 and 4 <= job["done"] < 24
        assert job["rate"] > 0 and job["eta_seconds"] > 0
    job = wait_for_job(client, job_id)
    assert job["status"] == "completed"
    assert job["done"] == job["total"] == job["read"] == job["indexed"] == 24
    assert job["eta_seconds"] == 0 and job["rate"] > 0
    assert job["images_encoded"] == job["texts_encoded"] == 24
    assert job["priority"] == "bulk" and job["batches_done"] == job["batches_total"] == 6


@pytest.mark.parametrize("done", [0, 30, 100])
def test_eta_is_what_is_left_at_the_rate_so_far(done: int) -> None:
    now = utcnow()
    job = IngestJob(status=JobStatus.running, total=100, indexed=done, updated=0, unchanged=0, failed=0)
    job.started_at = now - timedelta(seconds=10)
    p = job_progress(job, now)
    assert p.done == done and p.total == 100
    if done == 0:
        assert p.rate is None and p.eta_seconds is None  # nothing to extrapolate from yet
    else:
        assert p.rate == pytest.approx(done / 10)
        assert p.eta_seconds == pytest.approx((100 - done) / (done / 10))


def test_cli_ingest_follows_the_job_with_a_progress_bar(client, tmp_path) -> None:
    feed = photo_feed(tmp_path, "cli-live", 3)
    result = CliRunner().invoke(app, ["ingest", str(feed), "--priority", "live"])
    assert result.exit_code == 0, result.output
    assert "3/3" in result.stderr and "item" in result.stderr  # tqdm's bar: done/total items
    assert "completed: 3 read, 3 indexed, 0 updated, 0 unchanged, 0 failed" in result.stdout
    job_id = int(result.stdout.split("job ")[1].split()[0])
    assert job_row(job_id).priority == "live"
