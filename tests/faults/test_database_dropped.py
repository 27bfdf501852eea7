"""Fault 3: every Postgres connection dropped (`pg_terminate_backend`: an admin, a failover, a
restarted PgBouncer). In the middle of a job, the statement in flight fails; pool_pre_ping replaces
the dead pooled connections, the task retries, and the job completes with every product stored
once, whether the drop hit a batch or the feed being read. Under API traffic, a request answers or
says 503 with a message; none fails with a 500 or hangs."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx

from tests.faults.stack import (
    READING_THE_FEED,
    FaultStack,
    api_requests,
    assert_answers_or_503,
    assert_completed,
    assert_stored_once,
    noise_jpeg,
    photo_feed,
    stalled_mid_batch,
    stalled_on,
    wait_until,
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


def test_api_answers_while_connections_are_dropped(stack: FaultStack, tmp_path: Path) -> None:
    """Every kind of request, again and again, while another thread keeps dropping every
    connection: each answers 200 or 503 with a message, none a 500 or a hang; afterwards, all 200."""
    feed = photo_feed(tmp_path / "feed", "pgapi", 12)
    with stack.api(embedded=True) as api, httpx.Client(base_url=api.url, timeout=30) as http:
        r = http.post("/ingest/jobs", json={"feed": str(feed)})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        wait_until(lambda: http.get(f"/ingest/jobs/{job_id}").json()["status"] == "completed", "the job")
        product_id = http.get("/search", params={"q": "giày"}).json()["hits"][0]["id"]
        requests = api_requests(product_id, job_id, noise_jpeg(1))

        dropped, stop = [], threading.Event()

        def drop_connections() -> None:
            while not stop.wait(0.02):
                dropped.append(stack.terminate_backends())

        dropper = threading.Thread(target=drop_connections)
        dropper.start()
        try:
            statuses = Counter()
            for _ in range(5):
                for method, path, kwargs in requests:
                    response = http.request(method, path, **kwargs)
                    assert_answers_or_503(response)
                    statuses[response.status_code] += 1
        finally:
            stop.set()
            dropper.join()
        assert sum(dropped) > 0, "no connection was ever dropped"
        for method, path, kwargs in requests:
            assert http.request(method, path, **kwargs).status_code == 200, path
    print(f"under dropped connections: {dict(statuses)}; {sum(dropped)} connections dropped")
