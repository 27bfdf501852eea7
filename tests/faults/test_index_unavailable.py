"""Fault 4: the vector store unavailable. Searches answer 503 with a message (never a 500 or a hang)
and recover by themselves when it returns; an ingest job waits for it (its task retries) and
completes once it is back, or, with nothing to retry it, fails with the reason.

Two ways a store goes away: a Qdrant server that does not answer (qdrant-client backend; no server
runs here, so a closed port), and an embedded store whose folder another process holds (its
exclusive lock)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.faults.stack import (
    FaultStack,
    assert_completed,
    assert_stored_once,
    noise_jpeg,
    photo_feed,
    wait_until,
)
from tests.utils.server import free_port

SEARCHES = [
    ("GET", "/search", {"params": {"q": "giày chạy bộ"}}),
    ("GET", "/search", {"params": {"q": "running shoes", "mode": "lexical"}}),
    ("GET", "/search/facets", {"params": {"q": "giày"}}),
    ("POST", "/search/image", {"files": {"file": ("shoe.jpg", noise_jpeg(2), "image/jpeg")}}),
]


def _assert_index_503(http: httpx.Client) -> None:
    for method, path, kwargs in SEARCHES:
        r = http.request(method, path, **kwargs)
        assert r.status_code == 503, f"{method} {path}: {r.status_code} {r.text}"
        assert r.json()["detail"].startswith("vector index unavailable"), r.text
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["failed"] == ["vector_index"], ready.text


def test_qdrant_server_down(stack: FaultStack, tmp_path: Path) -> None:
    """Searches answer 503 at once; a job started meanwhile fails with the reason instead of
    staying 'running' for ever (embedded tasks: nothing would ever retry it)."""
    feed = photo_feed(tmp_path / "feed", "qdrantdown", 4)
    closed = f"http://127.0.0.1:{free_port()}"
    with (
        stack.api(embedded=True, CLIPSHOE_QDRANT__URL=closed) as api,
        httpx.Client(base_url=api.url, timeout=20) as http,
    ):
        _assert_index_503(http)
        r = http.post("/ingest/jobs", json={"feed": str(feed)})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        wait_until(lambda: http.get(f"/ingest/jobs/{job_id}").json()["status"] == "failed", "the job to fail")
    job = stack.job(job_id)
    assert job.message and job.message.startswith("IndexUnavailable"), job.message


def test_embedded_store_held_by_another_process(stack: FaultStack, tmp_path: Path) -> None:
    """The test process holds the store's lock. The API answers 503 until it lets go, then 200
    without a restart; a worker's job retries until the store is free, then completes."""
    stack.rt.index  # noqa: B018 - opening the embedded store takes its lock
    try:
        with stack.api(embedded=True) as api, httpx.Client(base_url=api.url, timeout=20) as http:
            _assert_index_503(http)
            stack.rt.close()  # let go: the API opens the store at its next request
            for method, path, kwargs in SEARCHES:
                r = http.request(method, path, **kwargs)
                assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
    finally:
        stack.rt.close()

    n = 8
    feed = photo_feed(tmp_path / "feed", "heldstore", n)
    stack.rt.index  # noqa: B018 - held again, now against the worker
    worker = stack.worker()
    try:
        job_id = stack.submit(feed)
        wait_until(lambda: "IndexUnavailable" in worker.log.read_text(), "the feed task to retry")
        stack.rt.close()
        stack.wait_job(job_id, worker, timeout=180)
    finally:
        worker.stop()
        stack.rt.close()
    assert_completed(stack, job_id, n)
    assert_stored_once(stack, "heldstore", n)
