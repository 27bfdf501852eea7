"""Polite GETs: robots.txt first, per-host pacing and concurrency, retries with jittered
exponential back-off on 429, 5xx, timeouts and dropped connections (honouring Retry-After).

Anything that still fails raises `FetchError` with a short `kind` ("http_404", "timeout",
"robots", …) that the crawl report counts by.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from ingest.crawl.politeness import HostLimiter, Politeness, backoff_delay
from ingest.crawl.robots import RobotsRules, rules_from_response


class FetchError(Exception):
    def __init__(self, kind: str, url: str, detail: str) -> None:
        super().__init__(f"{kind}: {url}: {detail}")
        self.kind, self.url, self.detail = kind, url, detail


class FetchStats:
    """Requests made and retries taken since the last `take()`; the crawl checkpoints the totals."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def take(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (it may be a number or an HTTP date); None if absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """One HTTP client for a crawl, shared by every stream so the per-host limits hold across them."""

    def __init__(
        self,
        politeness: Politeness,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.politeness = politeness
        self.stats = FetchStats()
        p = politeness
        self.limiter = HostLimiter(p.requests_per_second, p.concurrency, clock=clock, sleep=sleep)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._robots: dict[str, RobotsRules] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": politeness.user_agent,
                "Accept": "application/json, text/html;q=0.9, */*;q=0.5",
                "Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5",
            },
            timeout=politeness.timeout,
            follow_redirects=True,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str) -> httpx.Response:
        """A 2xx response for `url`, or FetchError once robots.txt forbids it or retries run out."""
        rules = await self.robots(url)
        agent = self.politeness.user_agent
        if not rules.allowed(url, agent):
            raise FetchError("robots", url, rules.reason or "disallowed by robots.txt")
        response = await self._get(url, rules.min_interval(agent))
        if response.status_code >= 300:
            raise FetchError(f"http_{response.status_code}", url, response.reason_phrase or "HTTP error")
        return response

    async def robots(self, url: str) -> RobotsRules:
        """The origin's robots.txt rules, fetched once per crawl (with the same manners)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self._robots_locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._robots:
                try:
                    response = await self._get(f"{origin}/robots.txt", 0.0)
                    self._robots[origin] = rules_from_response(response.status_code, response.text)
                except FetchError as exc:
                    self._robots[origin] = rules_from_response(None)
                    self.stats.counts[f"robots_{exc.kind}"] += 1
            return self._robots[origin]

    async def _get(self, url: str, min_interval: float) -> httpx.Response:
        """GET with retries; returns the last response (2xx or not), raises only on transport failure."""
        host = urlsplit(url).netloc
        p = self.politeness
        for retry in range(p.max_retries + 1):
            wait: float | None = None
            async with self.limiter.slot(host, min_interval):
                self.stats.counts["requests"] += 1
                try:
                    response = await self._client.get(url)
                except httpx.TimeoutException as exc:
                    detail = f"no answer within {p.timeout:g} s ({type(exc).__name__})"
                    failure = FetchError("timeout", url, detail)
                except httpx.TransportError as exc:
                    failure = FetchError("network", url, f"{type(exc).__name__}: {exc}")
                else:
                    if not _retryable(response.status_code):
                        return response
                    failure = FetchError(f"http_{response.status_code}", url, response.reason_phrase or "")
                    wait = _retry_after(response)
            if retry == p.max_retries:
                raise failure
            if wait is not None and wait > p.backoff_max:
                raise FetchError(failure.kind, url, f"Retry-After {wait:.0f} s is longer than we wait")
            self.stats.counts["retries"] += 1
            self.stats.counts[f"retry_{failure.kind}"] += 1
            jittered = backoff_delay(retry, p.backoff_base, p.backoff_max, self._rng)
            await self._sleep(max(wait or 0.0, jittered))
        raise AssertionError("unreachable")
