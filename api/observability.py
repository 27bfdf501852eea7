"""What the API tells operators: Prometheus metrics and one log line per request.

Measured per request: latency and count by route template (never the raw path: bounded label
values) and status; for searches also the latency and the number of hits by search mode. Read at
scrape time: Celery queue depths (Redis list lengths, when a broker is set) and ingest jobs by
status. Worker-side metrics (task durations, failures, items embedded) live in
workers/observability.py and share the default registry when tasks run in this process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from functools import lru_cache

import redis
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog import repository
from clipshoe.runtime import Runtime

log = logging.getLogger("clipshoe.request")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = PromCounter(
    "clipshoe_http_requests", "HTTP requests by route template and status.", ["method", "route", "status"]
)
REQUEST_LATENCY = Histogram(
    "clipshoe_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_LATENCY = Histogram(
    "clipshoe_search_duration_seconds",
    "Latency of successful searches by route and search mode.",
    ["route", "mode"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_RESULTS = Histogram(
    "clipshoe_search_results",
    "Hits returned per search, by route and search mode (the 0 bucket counts empty results).",
    ["route", "mode"],
    buckets=(0, 1, 5, 10, 20, 50, 100),
)
# Routes whose 200 answer is a SearchResponse: its `mode` and `hits` feed the search metrics.
SEARCH_ROUTES = frozenset(
    {"/search", "/search/image", "/products/recommend", "/products/{product_id}/similar"}
)
UNMATCHED = "unmatched"  # 404s for paths no route knows: one label value, whatever was asked
ROUTE_HINT = "clipshoe.route"  # scope key: the label of a request answered before routing


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def valid_request_id(value: str) -> bool:
    """A caller's X-Request-ID is kept if it is a plain token (a UUID, nginx's $request_id, a
    trace id); anything else is replaced, so a header cannot forge log lines."""
    return bool(_REQUEST_ID.match(value))


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or scope.get(ROUTE_HINT) or UNMATCHED


class RequestObserver:
    """ASGI middleware: metrics and a log line (with route, status, duration) for every request.

    Sits inside the request-id middleware, so the log line carries the request's id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        body: list[bytes] | None = None

        async def observe(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = message["status"]
                # Routing has happened by now: keep the body only of successful searches.
                if status == 200 and route_template(scope) in SEARCH_ROUTES:
                    body = []
            elif message["type"] == "http.response.body" and body is not None:
                body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            elapsed = time.perf_counter() - started
            method, route = scope["method"], route_template(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_LATENCY.labels(method, route).observe(elapsed)
            if body is not None:
                _observe_search(route, b"".join(body), elapsed)
            log.info(
                "%s %s %s %.1f ms",
                method,
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )


def _observe_search(route: str, body: bytes, elapsed: float) -> None:
    try:
        answer = json.loads(body)
        mode, hits = str(answer["mode"]), len(answer["hits"])
    except (ValueError, KeyError, TypeError):
        return
    SEARCH_LATENCY.labels(route, mode).observe(elapsed)
    SEARCH_RESULTS.labels(route, mode).observe(hits)


@lru_cache
def redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per URL, with short timeouts: a scrape or a readiness
    probe must answer even when Redis does not."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


# kombu's Redis transport keeps one list per queue and priority step: "q", "q\x06\x163", …
_PRIORITY_SEP, _PRIORITY_STEPS = "\x06\x16", (3, 6, 9)


def queue_lengths(url: str, queues: tuple[str, ...]) -> dict[str, int]:
    client = redis_client(url)
    pipe = client.pipeline(transaction=False)
    for q in queues:
        pipe.llen(q)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{q}{_PRIORITY_SEP}{step}")
    lengths = pipe.execute()
    per_queue = 1 + len(_PRIORITY_STEPS)
    return {q: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, q in enumerate(queues)}


class ScrapeTimeCollector:
    """Values read when Prometheus scrapes: queue depths and ingest jobs by status. A source that
    is down leaves its metric out of this scrape (and /readyz says which); the rest still answer."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        try:
            with self.rt.sessions() as s:
                counts = repository.job_status_counts(s)
        except Exception as exc:
            log.warning("metrics: ingest job counts unavailable: %s", exc)
        else:
            jobs = GaugeMetricFamily("clipshoe_ingest_jobs", "Ingest jobs by status.", labels=["status"])
            for status, n in counts.items():
                jobs.add_metric([status], n)
            yield jobs
        url = self.rt.settings.broker.url
        if url:
            from workers.celery_app import QUEUES

            try:
                lengths = queue_lengths(url, tuple(QUEUES))
            except redis.RedisError as exc:
                log.warning("metrics: queue lengths unavailable: %s", exc)
            else:
                depth = GaugeMetricFamily(
                    "clipshoe_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
                )
                for q, n in lengths.items():
                    depth.add_metric([q], n)
                yield depth


def _process_registry() -> CollectorRegistry:
    """This process's metrics, or, when PROMETHEUS_MULTIPROC_DIR is set (several processes share
    the port), the sum over every process that writes there."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def metrics_text(rt: Runtime) -> tuple[bytes, str]:
    """The exposition for /metrics: process metrics, then the scrape-time ones."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(ScrapeTimeCollector(rt))
    return generate_latest(_process_registry()) + generate_latest(scrape), CONTENT_TYPE_LATEST
