"""POST /ingest/jobs reads only inside the server's feed folders (ingest.feed_roots): the feed, and
the local photos it names. The operator's CLI reads any local path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalog.repository import SqlImageRegistry
from clipshoe.commands.serving import run_ingest
from clipshoe.runtime import get_runtime
from ingest.sample import write_jsonl_feed
from tests.integration import ingest, wait_for_job
from tests.workers.helpers import noise_jpeg, photo_feed


@pytest.fixture
def roots(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The server's one feed folder for this test: `tmp_path/feeds` (the rest of tmp_path is outside)."""
    root = tmp_path / "feeds"
    root.mkdir()
    monkeypatch.setattr(get_runtime().settings.ingest, "feed_roots", [root])
    return root


def _stored(data: bytes) -> bool:
    with get_runtime().sessions() as s:
        return SqlImageRegistry(s).by_sha256(hashlib.sha256(data).hexdigest()) is not None


def test_a_feed_outside_the_feed_folders_is_refused_alike_whether_it_exists_or_not(
    client: TestClient, roots: Path, tmp_path: Path
) -> None:
    real = photo_feed(tmp_path / "outside", "roots-out", 1)
    (roots / "feed-link.jsonl").symlink_to(real)
    (roots / "shop-link").symlink_to(real.parent, target_is_directory=True)
    jobs_before = len(client.get("/ingest/jobs", params={"limit": 200}).json())
    details = set()
    for feed in (
        real,
        real.parent / "missing.jsonl",
        roots / ".." / "outside" / real.name,
        roots / "feed-link.jsonl",
        roots / "shop-link",
        Path("/"),
        Path("/etc/passwd"),
    ):
        r = client.post("/ingest/jobs", json={"feed": str(feed)})
        assert r.status_code == 403, (feed, r.text)
        details.add(r.json()["detail"])
    assert len(details) == 1 and "feed folders" in details.pop()  # one answer: nothing is revealed
    assert len(client.get("/ingest/jobs", params={"limit": 200}).json()) == jobs_before
    r = client.post("/ingest/jobs", json={"feed": str(roots / "missing.jsonl")})
    assert r.status_code == 400 and "not found" in r.json()["detail"]


def test_an_api_feed_may_only_name_photos_inside_the_feed_folders(
    client: TestClient, roots: Path, tmp_path: Path
) -> None:
    private = tmp_path / "private"
    private.mkdir()
    secret, linked = noise_jpeg(9101), noise_jpeg(9102)
    (private / "secret.jpg").write_bytes(secret)
    (private / "linked.jpg").write_bytes(linked)
    shop = roots / "shop"
    shop.mkdir()
    (shop / "ok.jpg").write_bytes(noise_jpeg(9103))
    (shop / "link.jpg").symlink_to(private / "linked.jpg")
    images = {
        "inside": "ok.jpg",
        "absolute": str(private / "secret.jpg"),
        "dotdot": "../../private/secret.jpg",
        "symlink": "link.jpg",
    }
    rows = [
        {
            "source": "roots",
            "source_id": name,
            "title": f"Roots runner {name}",
            "brand": "Testbrand",
            "image": image,
        }
        for name, image in images.items()
    ]
    job = ingest(client, write_jsonl_feed(shop, rows))
    assert job["status"] == "completed" and job["indexed"] == 1 and job["failed"] == 3, job
    dead = client.get("/ingest/dead-letter", params={"job_id": job["id"]}).json()["items"]
    assert {e["source_id"] for e in dead} == {"absolute", "dotdot", "symlink"}
    assert all("photo outside the feed folders" in e["reason"] for e in dead), dead
    assert not _stored(secret) and not _stored(linked)  # refused before anything read them


def test_the_cli_reads_feeds_and_photos_anywhere(client: TestClient, roots: Path, tmp_path: Path) -> None:
    feed = photo_feed(tmp_path / "operator", "roots-cli", 2)
    job = wait_for_job(client, run_ingest(feed, wait=False))
    assert job["status"] == "completed" and job["indexed"] == 2 and job["failed"] == 0, job
