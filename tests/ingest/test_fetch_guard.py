"""A feed cannot make the server fetch from itself or its network (SSRF): photo downloads connect to
public addresses only unless ingest.allow_private_urls is set (tests/conftest.py sets it for the
local photo servers; these tests clear it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clipshoe.runtime import get_runtime
from ingest.image_fetch import FetchLimits, fetch_image
from ingest.images import ImageRejected
from ingest.sample import write_jsonl_feed
from tests.ingest.photo_server import PhotoServer, photo_server
from tests.integration import ingest
from tests.utils import images as factory

PUBLIC_ONLY = FetchLimits(connect_timeout=2, read_timeout=1, deadline=3)


@pytest.fixture(scope="module")
def server() -> Iterator[PhotoServer]:
    with photo_server() as s:
        yield s


def test_loopback_private_and_link_local_addresses_are_refused_before_connecting(server: PhotoServer) -> None:
    url = server.serve("/internal.jpg", factory.jpeg_bytes())
    port = url.split(":")[2].split("/")[0]
    cases = {
        url: "loopback",
        f"http://localhost:{port}/internal.jpg": "loopback",  # a name is judged by its address
        "http://[::1]/x.jpg": "loopback",
        "http://[::ffff:127.0.0.1]/x.jpg": "loopback",
        "http://169.254.169.254/latest/meta-data/": "link-local",  # a cloud's metadata service
        "http://10.0.0.7/x.jpg": "private",
        "http://192.168.1.1/x.jpg": "private",
        "http://0.0.0.0/x.jpg": "private",
    }
    for case, kind in cases.items():
        with pytest.raises(ImageRejected) as rejected:
            fetch_image(case, PUBLIC_ONLY)
        assert kind in rejected.value.reason and "public addresses only" in rejected.value.reason, case
    assert server.hits["/internal.jpg"] == 0  # nothing was asked of it
    allowed = FetchLimits(connect_timeout=2, read_timeout=1, deadline=3, allow_private=True)
    assert fetch_image(url, allowed).data == factory.jpeg_bytes()


def test_a_feed_naming_an_internal_url_gets_a_recorded_error_and_no_request(
    client: TestClient, server: PhotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setattr(get_runtime().settings.ingest, "allow_private_urls", False)  # the default
    url = server.serve("/admin-panel.jpg", factory.jpeg_bytes(colour=(10, 200, 90)))
    rows = [{"source": "ssrf", "source_id": "internal", "title": "Internal runner", "image": url}]
    job = ingest(client, write_jsonl_feed(tmp_path, rows))
    assert job["status"] == "completed" and job["failed"] == 1 and job["indexed"] == 0, job
    [error] = client.get("/ingest/dead-letter", params={"job_id": job["id"]}).json()["items"]
    assert error["stage"] == "image" and "loopback" in error["reason"], error
    assert server.hits["/admin-panel.jpg"] == 0
