"""API keys on every write, upload size limit, CORS and rate limits, against the real stack."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from api.ratelimit import KEY_PREFIX
from catalog import repository
from clipshoe.runtime import get_runtime
from clipshoe.settings import RateLimitSettings
from tests.utils.images import corrupt_jpeg

pytestmark = pytest.mark.usefixtures("catalogue")

WRITES = {"post", "put", "patch", "delete"}
# Writes open to anyone: a photo search posts its photo but changes nothing.
PUBLIC_WRITES = {("post", "/search/image")}


def _write_operations() -> dict[tuple[str, str], dict]:
    """Every write in the OpenAPI schema (what a client can call), public ones left out."""
    paths = create_app().openapi()["paths"]
    return {
        (method, path): op
        for path, ops in paths.items()
        for method, op in ops.items()
        if method in WRITES and (method, path) not in PUBLIC_WRITES
    }


def _asks_for_key(op: dict) -> bool:
    # require_api_key declares the X-API-Key header: a route that depends on it lists it.
    return any(p["in"] == "header" and p["name"].lower() == "x-api-key" for p in op.get("parameters", []))


def test_every_write_and_admin_route_asks_for_the_api_key() -> None:
    ops = _write_operations()
    assert ("post", "/ingest/jobs") in ops
    unguarded = [name for name, op in ops.items() if not _asks_for_key(op)]
    assert not unguarded, f"write routes without require_api_key: {unguarded}"


@pytest.fixture
def keys_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_runtime().settings.api, "require_key", True)


@pytest.fixture
def api_key() -> Iterator[str]:
    """A real key, revoked afterwards: other tests write without one (no live key exists)."""
    rt = get_runtime()
    with rt.sessions.begin() as s:
        key = repository.create_api_key(s, "test-security")
    yield key
    with rt.sessions.begin() as s:
        repository.revoke_api_key(s, key[:10])


def test_a_write_without_a_key_gets_401(client, keys_required) -> None:
    for method, path in _write_operations():
        r = client.request(method, re.sub(r"\{[^}]+\}", "1", path), json={"feed": "/nonexistent"})
        assert r.status_code == 401, (method, path, r.text)
        assert "X-API-Key" in r.json()["detail"] and r.headers["WWW-Authenticate"] == "ApiKey"


def test_a_wrong_key_gets_401_and_a_valid_key_gets_through(client, keys_required, api_key) -> None:
    wrong = client.post("/ingest/jobs", json={"feed": "/nonexistent"}, headers={"X-API-Key": "cs_guess"})
    assert wrong.status_code == 401 and "invalid" in wrong.json()["detail"]
    # Past the key check, the request is judged on its own merits: here, a feed outside the feed folders.
    right = client.post("/ingest/jobs", json={"feed": "/nonexistent"}, headers={"X-API-Key": api_key})
    assert right.status_code == 403 and "feed folders" in right.json()["detail"]


def test_an_oversized_photo_gets_413(client, monkeypatch) -> None:
    monkeypatch.setattr(get_runtime().settings.api, "max_upload_bytes", 1024)
    r = client.post("/search/image", files={"file": ("big.jpg", b"\xff\xd8" + b"0" * 4096, "image/jpeg")})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_cors_allows_only_the_configured_origins(client, monkeypatch) -> None:
    monkeypatch.setattr(get_runtime().settings.api, "cors_origins", ["https://shop.example"])
    app_client = TestClient(create_app())  # CORS is fixed when the app is built
    preflight = {"Access-Control-Request-Method": "GET"}
    ok = app_client.options("/search", headers={"Origin": "https://shop.example", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://shop.example"
    other = app_client.options("/search", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    r = app_client.get("/healthz", headers={"Origin": "https://shop.example"})
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()


# --- rate limits --------------------------------------------------------------------------------


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch, broker: str) -> Iterator[RateLimitSettings]:
    """Tight limits for one test; its buckets are deleted from Redis afterwards."""
    cfg = RateLimitSettings(
        enabled=True, search_per_second=0.01, search_burst=3, upload_per_second=0.01, upload_burst=2
    )
    monkeypatch.setattr(get_runtime().settings, "rate_limit", cfg)
    yield cfg
    r = redis.Redis.from_url(broker)
    for key in r.scan_iter(f"{KEY_PREFIX}:*"):
        r.delete(key)


def _search(c: TestClient, **headers: str):  # type: ignore[no-untyped-def]
    return c.get("/search", params={"q": "shoes", "limit": 1}, headers=headers)


def test_searches_past_the_burst_get_429_with_retry_after(client, limits) -> None:
    assert [_search(client).status_code for _ in range(3)] == [200, 200, 200]
    r = _search(client)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "too many searches" in r.json()["detail"] and "bursts of 3" in r.json()["detail"]
    metrics = client.get("/metrics").text
    assert 'clipshoe_http_requests_total{method="GET",route="rate-limited:search",status="429"}' in metrics
    assert 'clipshoe_rate_limited_total{kind="search"}' in metrics
    # Facets, similar and recommend draw from the same bucket; product pages and health don't.
    assert client.get("/search/facets", params={"q": "shoes"}).status_code == 429
    assert client.get("/healthz").status_code == 200
    # Another client (address) has its own bucket.
    other = TestClient(client.app, client=("203.0.113.9", 50000))
    assert _search(other).status_code == 200


def test_buckets_live_in_redis_and_hold_across_api_replicas(client, limits, broker) -> None:
    replica = TestClient(create_app())  # a second API process would build its own app like this
    assert [_search(client).status_code for _ in range(2)] == [200, 200]
    assert [_search(replica).status_code for _ in range(2)] == [200, 429]
    keys = [k.decode() for k in redis.Redis.from_url(broker).scan_iter(f"{KEY_PREFIX}:*")]
    assert keys == [f"{KEY_PREFIX}:search:ip:testclient"]
    assert redis.Redis.from_url(broker).ttl(keys[0]) > 0  # idle buckets expire


def test_a_valid_api_key_is_its_own_client_and_an_invented_one_is_not(client, limits, api_key) -> None:
    assert [_search(client).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _search(client, **{"X-API-Key": "cs_invented"}).status_code == 429
    assert _search(client, **{"X-API-Key": api_key}).status_code == 200


def test_photo_uploads_have_their_own_bucket(client, limits) -> None:
    def upload() -> int:
        return client.post(
            "/search/image", files={"file": ("x.jpg", corrupt_jpeg(), "image/jpeg")}
        ).status_code

    assert [upload() for _ in range(3)] == [400, 400, 429]
    assert _search(client).status_code == 200


def test_without_redis_buckets_are_kept_in_memory(client, limits, monkeypatch, broker) -> None:
    monkeypatch.setattr(get_runtime().settings.broker, "url", None)
    assert [_search(client).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert not list(redis.Redis.from_url(broker).scan_iter(f"{KEY_PREFIX}:*"))


def test_a_dead_redis_lets_requests_through(client, limits, monkeypatch) -> None:
    monkeypatch.setattr(limits, "redis_url", "redis://127.0.0.1:1/0")
    assert [_search(client).status_code for _ in range(5)] == [200] * 5


def test_limits_can_be_turned_off(client, limits, monkeypatch) -> None:
    monkeypatch.setattr(limits, "enabled", False)
    assert [_search(client).status_code for _ in range(5)] == [200] * 5
