"""Feeds with photos of their own, and a way to hold the worker still at a known point.

The worker fixture is one real Celery worker thread (solo pool). `holding_job` locks a job's row
in Postgres: the worker's next write to that row waits, so whatever the test does meanwhile
(submit another job, look at the broker) happens while a task of that job is in hand. No timing
assumptions: the test waits on the lock, never on the clock.
"""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from catalog import repository
from catalog.db import get_engine
from catalog.models import IngestJob
from clipshoe.runtime import get_runtime
from ingest.sample import write_jsonl_feed


def noise_jpeg(seed: int, size: tuple[int, int] = (48, 64)) -> bytes:
    """A photo no other test draws: noise from its own seed (so no two are near-duplicates)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def photo_feed(folder: Path, source: str, n: int, seed: int = 0, **fields: Any) -> Path:
    """A JSONL feed of `n` new listings of `source`, each with a photo of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        photo = folder / f"{source}-{i}.jpg"
        photo.write_bytes(noise_jpeg(zlib.crc32(f"{source}:{seed}:{i}".encode())))
        rows.append(
            {
                "source": source,
                "source_id": f"{source}-{i}",
                "title": f"Test runner {source} {i}",
                "brand": "Testbrand",
                "category": "sports shoes",
                "colour": "black",
                "gender": "men",
                "price": 100 + i,
                "image": str(photo),
                **fields,
            }
        )
    return write_jsonl_feed(folder, rows)


def submit(client: TestClient, feed: Path, priority: str = "bulk") -> int:
    r = client.post("/ingest/jobs", json={"feed": str(feed), "priority": priority})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def job_row(job_id: int) -> IngestJob:
    with get_runtime().sessions() as s:
        job = repository.get_job(s, job_id)
        assert job is not None
        s.expunge(job)
        return job


def wait_until(check: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@contextmanager
def holding_job(job_id: int) -> Iterator[None]:
    """Lock the job's row: the worker stalls at its next write to it, inside a task of this job."""
    with get_engine().connect() as conn:
        conn.execute(text("SELECT id FROM ingest_jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
        try:
            yield
        finally:
            conn.rollback()
