"""Request ids, JSON logs, Prometheus metrics and readiness, through the real stack."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from api.observability import queue_lengths
from api.routes.health import readiness
from catalog.vector_index import IndexUnavailable
from clipshoe.logs import configure_logging
from clipshoe.runtime import Runtime, get_runtime
from clipshoe.settings import LogSettings, Settings
from tests.integration import wait_for_job
from workers.celery_app import QUEUES

pytestmark = pytest.mark.usefixtures("catalogue")


def samples(client) -> dict[tuple[str, frozenset], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def test_request_id_is_echoed_and_on_every_log_line_of_the_request(client, caplog) -> None:
    rt = get_runtime()
    caplog.set_level(logging.INFO)
    # A dead broker makes /readyz log a warning from inside the handler (in a worker thread).
    rt.settings.broker.url, url = "redis://127.0.0.1:1/0", rt.settings.broker.url
    try:
        r = client.get("/readyz", headers={"X-Request-ID": "checkout-7f3a.1"})
    finally:
        rt.settings.broker.url = url
    assert r.headers["X-Request-ID"] == "checkout-7f3a.1"
    lines = [rec for rec in caplog.records if rec.name in ("clipshoe.request", "api.routes.health")]
    assert {rec.name for rec in lines} == {"clipshoe.request", "api.routes.health"}
    assert all(rec.request_id == "checkout-7f3a.1" for rec in lines)


def test_request_id_is_generated_when_missing_or_unsafe(client) -> None:
    fresh = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert client.get("/healthz").headers["X-Request-ID"] != fresh
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" level=ERROR'}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The serving processes' JSON log set-up, its stderr handler pointed at a buffer."""
    configure_logging(LogSettings(format="json"))
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_clipshoe_handler", False)]
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    configure_logging(LogSettings())


def test_json_log_lines_carry_request_route_status_and_duration(client, json_logs) -> None:
    r = client.get("/search", params={"q": "giày thể thao"}, headers={"X-Request-ID": "json-test-1"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    request = [e for e in lines if e["logger"] == "clipshoe.request"]
    assert len(request) == 1, lines
    e = request[0]
    assert e["request_id"] == "json-test-1" and e["level"] == "INFO" and e["time"]
    assert e["method"] == "GET" and e["route"] == "/search" and e["status"] == 200 and e["duration_ms"] > 0
    assert e["message"].startswith("GET /search 200")


def test_metrics_cover_requests_searches_tasks_and_jobs(client) -> None:
    before = samples(client)
    assert client.get("/search", params={"q": "black shoes", "mode": "dense", "limit": 5}).status_code == 200
    assert client.get("/search", params={"q": "zzzz", "mode": "lexical"}).status_code == 200
    product = client.get("/search", params={"q": "shoes"}).json()["hits"][0]["id"]
    assert client.get(f"/products/{product}").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    after = samples(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("clipshoe_http_request_duration_seconds_count", method="GET", route="/search") == 3
    # Route templates, never raw paths: one series for every product and every unknown URL.
    assert (
        grew("clipshoe_http_requests_total", method="GET", route="/products/{product_id}", status="200") == 1
    )
    assert grew("clipshoe_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert grew("clipshoe_search_duration_seconds_count", route="/search", mode="dense") == 1
    assert grew("clipshoe_search_results_sum", route="/search", mode="dense") == 5
    assert grew("clipshoe_search_results_bucket", route="/search", mode="lexical", le="0.0") == 1
    # The catalogue was ingested by the real worker (a thread of this process) before this test.
    assert value(after, "clipshoe_ingest_jobs", status="completed") >= 1
    assert value(after, "clipshoe_items_embedded_total", task="clipshoe.encode.batch") >= 49
    assert (
        value(after, "clipshoe_task_duration_seconds_count", task="clipshoe.encode.batch", state="SUCCESS")
        >= 1
    )
    assert all(("clipshoe_queue_length", frozenset({("queue", q)})) in after for q in QUEUES)


def test_a_failed_task_is_counted(client, tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    before = samples(client)
    r = client.post("/ingest/jobs", json={"feed": str(empty)})
    assert r.status_code == 202
    assert wait_for_job(client, r.json()["id"])["status"] == "failed"
    after = samples(client)
    labels = {"task": "clipshoe.ingest.feed", "exception": "FeedFormatError"}
    assert (
        value(after, "clipshoe_task_failures_total", **labels)
        == value(before, "clipshoe_task_failures_total", **labels) + 1
    )
    assert value(after, "clipshoe_ingest_jobs", status="failed") >= 1


def test_queue_length_counts_every_priority_list(broker) -> None:
    r = redis.Redis.from_url(broker)
    q = "clipshoe-test-queue"
    try:
        r.lpush(q, "a", "b", "c")
        r.lpush(f"{q}\x06\x163", "d", "e")
        assert queue_lengths(broker, (q, "clipshoe-test-empty")) == {q: 5, "clipshoe-test-empty": 0}
    finally:
        r.delete(q, f"{q}\x06\x163")


def test_metrics_can_be_turned_off(client, monkeypatch) -> None:
    monkeypatch.setattr(get_runtime().settings.metrics, "enabled", False)
    r = client.get("/metrics")
    assert r.status_code == 404 and "disabled" in r.json()["detail"]


def test_readyz_answers_200_when_every_dependency_answers(client) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"database": "ok", "vector_index": "ok", "broker": "ok"},
        "failed": [],
    }


def test_readyz_answers_503_naming_the_dead_broker(client, monkeypatch) -> None:
    monkeypatch.setattr(get_runtime().settings.broker, "url", "redis://127.0.0.1:1/0")
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unready" and body["failed"] == ["broker"]
    assert "ConnectionError" in body["checks"]["broker"] and body["checks"]["database"] == "ok"


def test_readiness_names_every_dead_dependency() -> None:
    # A second runtime whose database, broker and Qdrant server are all closed ports.
    rt = Runtime(
        Settings(
            database={"url": "postgresql+psycopg://postgres@127.0.0.1:1/test"},
            broker={"url": "redis://127.0.0.1:1/0"},
            qdrant={"url": "http://127.0.0.1:1"},
        )
    )
    try:
        r = readiness(rt)
    except IndexUnavailable:  # pragma: no cover - the check must catch, not raise
        pytest.fail("readiness raised instead of reporting")
    finally:
        rt.close()
    assert r.status == "unready" and sorted(r.failed) == ["broker", "database", "vector_index"]
    assert "OperationalError" in r.checks["database"]
