"""The embedded default, as a new user runs it: `clipshoe demo` with no configuration at all
(SQLite file, Qdrant's embedded engine, in-process tasks), then real HTTP requests."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.utils.server import running_demo


def test_demo_serves_a_generated_catalogue(tmp_path: Path) -> None:
    with running_demo(tmp_path / "var") as base:
        health = httpx.get(f"{base}/healthz").json()
        assert health["products"] > 0 and health["indexed_points"] == health["products"]
        body = httpx.get(f"{base}/search", params={"q": "black sneakers", "price_max": 5000}).json()
        assert body["hits"] and all(h["price"] <= 5000 for h in body["hits"])
        assert httpx.get(body["hits"][0]["photo_url"]).status_code == 200
    assert (tmp_path / "var" / "clipshoe.db").is_file()
