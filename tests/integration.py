"""Fixtures that stand up the real stack once per session: Postgres schema, Redis, a Celery
worker thread consuming the real broker, the API app, and a generated catalogue ingested."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog.db import get_engine, migrate


def reset_database() -> None:
    with get_engine().begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate()


@pytest.fixture(scope="session")
def database() -> None:
    reset_database()


@pytest.fixture(scope="session")
def broker() -> str:
    from clipshoe.settings import get_settings

    url = get_settings().broker.url
    assert url
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="session")
def worker(database: None, broker: str) -> Iterator[object]:
    """A real Celery worker consuming the real Redis broker, in a thread of this process
    (the embedded vector store has one owner: this process)."""
    from celery.contrib.testing.worker import start_worker

    from workers.celery_app import QUEUES, celery_app

    with start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=list(QUEUES),
        shutdown_timeout=30,
    ) as w:
        yield w


@pytest.fixture(scope="session")
def client(worker: object) -> Iterator[TestClient]:
    from api.main import create_app

    with TestClient(create_app()) as c:
        yield c


def wait_for_job(client: TestClient, job_id: int, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/ingest/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {job}")


def ingest(client: TestClient, feed: Path, **body: str) -> dict:
    r = client.post("/ingest/jobs", json={"feed": str(feed), **body})
    assert r.status_code == 202, r.text
    return wait_for_job(client, r.json()["id"])


@pytest.fixture(scope="session")
def catalogue(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """50 generated products, one of them with a corrupt photo, ingested through the API."""
    import csv

    from ingest.sample import generate_sample_catalog

    feed = generate_sample_catalog(tmp_path_factory.mktemp("catalogue"), n=50, seed=7)
    rows = list(csv.DictReader(feed.open(encoding="utf-8")))
    broken = rows[7]
    (feed.parent / broken["image"]).write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    job = ingest(client, feed)
    return {"feed": feed, "rows": rows, "broken": broken, "job": job}
