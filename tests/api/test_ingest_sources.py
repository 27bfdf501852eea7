"""Every feed layout `read_feed` knows is accepted by the API, folders included."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.integration import ingest
from tests.utils import images as factory


def test_a_photo_folder_is_ingested_through_the_api_and_found(client: TestClient, tmp_path: Path) -> None:
    root = tmp_path / "shop-photos"
    root.mkdir()
    (root / "boot.jpg").write_bytes(factory.jpeg_bytes(colour=(90, 60, 30)))
    (root / "boot.json").write_text(
        json.dumps({"id": "folder-boot-1", "title": "Giày bốt Chelsea da lộn Zephyrine", "price": 1_290_000}),
        encoding="utf-8",
    )
    job = ingest(client, root, source="shop-folder")
    assert job["status"] == "completed" and job["failed"] == 0, job
    hits = client.get("/search", params={"q": "zephyrine", "mode": "lexical"}).json()["hits"]
    assert hits and hits[0]["source_id"] == "folder-boot-1"
    assert hits[0]["price"] == 1_290_000
    # The CLI's format aliases are the API's too ("images" is the folder reader).
    again = ingest(client, root, source="shop-folder", format="images")
    assert again["format"] == "folder" and again["status"] == "completed" and again["unchanged"] == 1, again


def test_unknown_format_and_missing_feed_are_refused(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/ingest/jobs", json={"feed": str(tmp_path), "format": "xml"})
    assert r.status_code == 422 and "unknown feed format 'xml'" in r.json()["detail"]
    assert "zappos50k" in r.json()["detail"]
    r = client.post("/ingest/jobs", json={"feed": str(tmp_path / "nowhere.csv")})
    assert r.status_code == 400 and "not found" in r.json()["detail"]
