"""Rate limits on search and photo uploads: a token bucket per client and kind of request.

A client is its API key when it sends a valid one, else its IP address (behind a proxy, run
uvicorn with --proxy-headers so the address is the client's, not the proxy's). Each bucket holds
up to `burst` tokens and refills at `per_second`; a request takes one token or gets a 429 with
Retry-After. Buckets live in Redis when one is configured, so every API replica draws from the
same bucket; otherwise in this process's memory.

Hand-written rather than a library: the common ones (limits, slowapi) count fixed or sliding
windows, not a token bucket, and the bucket is a dozen lines in Lua and in Python. If Redis is
down, requests pass (and a warning is logged): availability over strictness.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass

import redis
from anyio import to_thread
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.observability import ROUTE_HINT, redis_client
from catalog import repository
from clipshoe.runtime import get_runtime
from clipshoe.settings import RateLimitSettings

log = logging.getLogger(__name__)

KEY_PREFIX = "clipshoe:ratelimit"
_SIMILAR = re.compile(r"^/products/[^/]+/similar/?$")
KEY_CACHE_SECONDS = 60.0  # how long a key's validity is remembered (identity only, not auth)
REJECTED = Counter("clipshoe_rate_limited", "Requests refused with 429, by kind of limit.", ["kind"])


@dataclass(frozen=True)
class Limit:
    kind: str
    per_second: float
    burst: int

    def describe(self) -> str:
        return f"{self.per_second:g} per second, bursts of {self.burst}"


def limit_for(method: str, path: str, cfg: RateLimitSettings) -> Limit | None:
    """Which bucket a request draws from: photo uploads, searches, or none."""
    path = path.rstrip("/") or "/"
    if method == "POST" and path == "/search/image":
        return Limit("upload", cfg.upload_per_second, cfg.upload_burst)
    if method == "GET" and (
        path in ("/search", "/search/facets", "/products/recommend") or _SIMILAR.match(path)
    ):
        return Limit("search", cfg.search_per_second, cfg.search_burst)
    return None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float  # seconds until a token is back (0 when allowed)


# Redis time, not the API host's: replicas with skewed clocks still share one bucket fairly.
_TAKE_TOKEN = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


def _verdict(allowed: bool, tokens: float, rate: float) -> Verdict:
    return Verdict(allowed, 0.0 if allowed else (1 - tokens) / rate)


class RedisBuckets:
    def __init__(self, url: str) -> None:
        self.script = redis_client(url).register_script(_TAKE_TOKEN)

    def take(self, key: str, limit: Limit) -> Verdict:
        allowed, tokens = self.script(keys=[key], args=[limit.per_second, limit.burst])
        return _verdict(bool(allowed), float(tokens), limit.per_second)


class MemoryBuckets:
    """The same bucket in this process (no Redis configured)."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str, limit: Limit) -> Verdict:
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > self.MAX_KEYS:
                self._buckets.clear()  # a flood of distinct clients: start over rather than grow
            tokens, ts = self._buckets.get(key, (float(limit.burst), now))
            tokens = min(limit.burst, tokens + (now - ts) * limit.per_second)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
        return _verdict(allowed, tokens, limit.per_second)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


class RateLimiter:
    def __init__(self) -> None:
        self.memory = MemoryBuckets()
        self._redis: dict[str, RedisBuckets] = {}
        self._keys: dict[str, tuple[bool, float]] = {}  # key hash -> (valid, expires)

    def _buckets(self, url: str | None) -> RedisBuckets | MemoryBuckets:
        if not url:
            return self.memory
        if url not in self._redis:
            self._redis[url] = RedisBuckets(url)
        return self._redis[url]

    def _key_valid(self, key: str) -> bool:
        digest, now = repository.hash_key(key), time.monotonic()
        cached = self._keys.get(digest)
        if cached and cached[1] > now:
            return cached[0]
        with get_runtime().sessions() as s:
            valid = repository.api_key_valid(s, key)
        if len(self._keys) > 10_000:
            self._keys.clear()  # invented keys must not grow the cache without bound
        self._keys[digest] = (valid, now + KEY_CACHE_SECONDS)
        return valid

    def client(self, scope: Scope, api_key: str | None) -> str:
        """A valid API key names the client; an invented one would mint fresh buckets, so it doesn't."""
        try:
            if api_key and self._key_valid(api_key):
                return "key:" + repository.hash_key(api_key)[:24]
        except SQLAlchemyError as exc:  # the database is down: judge the client by its address
            log.warning("rate limit: API key not checked: %s", exc)
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")

    @staticmethod
    def store_url() -> str | None:
        settings = get_runtime().settings
        return settings.rate_limit.redis_url or settings.broker.url

    def check(self, scope: Scope, api_key: str | None, limit: Limit) -> Verdict:
        url = self.store_url()
        key = f"{KEY_PREFIX}:{limit.kind}:{self.client(scope, api_key)}"
        try:
            return self._buckets(url).take(key, limit)
        except redis.RedisError as exc:
            log.warning("rate limit store unavailable, request let through: %s", exc)
            return Verdict(True, 0.0)


class RateLimitMiddleware:
    """ASGI middleware: reads the settings on every request, so limits can be turned on or off
    (and tuned) without rebuilding the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limiter = RateLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cfg = get_runtime().settings.rate_limit
        limit = limit_for(scope["method"], scope["path"], cfg) if scope["type"] == "http" else None
        if not (cfg.enabled and limit):
            await self.app(scope, receive, send)
            return
        api_key = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-api-key"), None)
        if api_key is None and self.limiter.store_url() is None:
            verdict = self.limiter.check(scope, api_key, limit)  # memory only: microseconds
        else:  # Redis and the key lookup block: off the event loop
            verdict = await to_thread.run_sync(self.limiter.check, scope, api_key, limit)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        REJECTED.labels(limit.kind).inc()
        scope[ROUTE_HINT] = f"rate-limited:{limit.kind}"  # no route ran: name the limit instead
        retry = max(1, math.ceil(verdict.retry_after))
        what = "searches" if limit.kind == "search" else "photo uploads"
        body = json.dumps(
            {"detail": f"too many {what} from this client (limit: {limit.describe()}); retry in {retry} s"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
