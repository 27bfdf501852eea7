"""While a chunk of the feed waits on its photo downloads, the job's row stays free: embed tasks
record their progress, claim the next batches and finish the job without waiting for them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from catalog import repository
from clipshoe.runtime import get_runtime
from ingest.sample import write_jsonl_feed
from tests.ingest.photo_server import photo_server
from tests.integration import wait_for_job
from tests.workers.helpers import noise_jpeg, submit, wait_until


def test_the_job_row_is_free_while_a_chunk_downloads_its_photos(client, tmp_path, monkeypatch) -> None:
    rt = get_runtime()
    if "allow_private_urls" in type(rt.settings.ingest).model_fields:  # the photo comes from this machine
        monkeypatch.setattr(rt.settings.ingest, "allow_private_urls", True)
    photo, release = noise_jpeg(3101), threading.Event()

    def slow(h: BaseHTTPRequestHandler) -> None:
        release.wait(120)  # until the test has looked at the job row
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(photo)))
        h.end_headers()
        h.wfile.write(photo)

    (tmp_path / "local.jpg").write_bytes(noise_jpeg(3102))
    base = {"source": "rowlock", "title": "Test runner", "brand": "Testbrand", "price": 100}
    with photo_server() as server:
        url = server.route("/slow.jpg", slow)
        rows = [
            base | {"source_id": "missing", "image": str(tmp_path / "missing.jpg")},
            base | {"source_id": "local", "image": str(tmp_path / "local.jpg")},
            base | {"source_id": "remote", "image": url},
        ]
        job_id = submit(client, write_jsonl_feed(tmp_path, rows))
        try:
            wait_until(lambda: server.hits["/slow.jpg"] >= 1, "the photo download to start")
            # What an embed task does to the job row (embed_batch's and pump's repository calls)
            # must not wait for the download: here it would fail after 2 s.
            with rt.sessions() as s:
                s.execute(text("SET LOCAL lock_timeout = '2s'"))
                try:
                    repository.add_job_progress(s, job_id)
                    repository.claim_batches(s, job_id, rt.settings.ingest.max_queued_batches)
                    repository.finish_job_if_done(s, job_id)
                except OperationalError as exc:
                    pytest.fail(f"an embed task would wait for the feed's photo downloads: {exc}")
                finally:
                    s.rollback()
        finally:
            release.set()
        job = wait_for_job(client, job_id)
    assert job["status"] == "completed", job
    assert (job["total"], job["indexed"], job["failed"]) == (3, 2, 1)
