"""Polite GETs: robots.txt first, per-host pacing and concurrency, retries with jittered
exponential back-off on 429, 5xx, timeouts and dropped connections (honouring Retry-After).

Each request is bounded as a whole: `Politeness.timeout` covers connecting and the entire body
(a server trickling a byte at a time ends too), and the body is streamed and abandoned past
`Politeness.max_bytes`. Redirects are followed by hand, so every hop goes through the same
robots.txt check and per-host pacing as the first request.

Anything that still fails raises `FetchError` with a short `kind` ("http_404", "timeout",
"robots", "too_large", "redirect", …) that the crawl report counts by.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from ingest.crawl.politeness import HostLimiter, Politeness, backoff_delay
from ingest.crawl.robots import RobotsRules, rules_from_response


class FetchError(Exception):
    def __init__(self, kind: str, url: str, detail: str) -> None:
        super().__init__(f"{kind}: {url}: {detail}")
        self.kind, self.url, self.detail = kind, url, detail


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Page:
    """One answer, its body read whole within the limits."""

    url: str
    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes
    charset: str | None = None  # from the Content-Type

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")


class FetchStats:
    """Requests made and retries taken since the last `take()`; the crawl checkpoints the totals."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def take(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: Page) -> float | None:
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
            timeout=politeness.timeout,  # per read; _request bounds the whole request
            follow_redirects=False,  # followed by hand (_follow)
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str) -> Page:
        """A 2xx page for `url`, or FetchError once robots.txt forbids it (at any hop of a redirect),
        retries run out, or the answer is too large."""
        page = await self._follow(url, robots=True)
        if page.status_code >= 300:
            detail = page.reason_phrase or "HTTP error"
            if page.url != url:
                detail += f" (redirected to {page.url})"
            raise FetchError(f"http_{page.status_code}", page.url, detail)
        return page

    async def robots(self, url: str) -> RobotsRules:
        """The origin's robots.txt rules, fetched once per crawl (with the same manners)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self._robots_locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._robots:
                try:
                    response = await self._follow(f"{origin}/robots.txt", robots=False)
                    self._robots[origin] = rules_from_response(response.status_code, response.text)
                except FetchError as exc:
                    self._robots[origin] = rules_from_response(None)
                    self.stats.counts[f"robots_{exc.kind}"] += 1
            return self._robots[origin]

    async def _follow(self, url: str, robots: bool) -> Page:
        """GET `url`, following redirects by hand: each hop paced for its host and, with `robots`,
        allowed by its site's robots.txt. The final answer, 2xx or not."""
        agent, first = self.politeness.user_agent, url
        for _ in range(self.politeness.max_redirects + 1):
            interval = 0.0
            if robots:
                rules = await self.robots(url)
                if not rules.allowed(url, agent):
                    detail = rules.reason or "disallowed by robots.txt"
                    if url != first:
                        detail = f"redirected to {url}: {detail}"
                    raise FetchError("robots", url, detail)
                interval = rules.min_interval(agent)
            page = await self._get(url, interval)
            location = page.headers.get("location")
            if page.status_code not in _REDIRECTS or not location:
                return page
            target = urljoin(url, location.strip())
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchError("redirect", url, f"redirected to a non-http(s) URL: {target[:200]}")
            self.stats.counts["redirects"] += 1
            url = target
        raise FetchError("redirect", url, f"more than {self.politeness.max_redirects} redirects")

    async def _request(self, url: str) -> Page:
        """One GET, read whole within `timeout` seconds and `max_bytes` bytes."""
        p = self.politeness
        async with asyncio.timeout(p.timeout), self._client.stream("GET", url) as response:
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > p.max_bytes:
                raise FetchError("too_large", url, f"server announced {announced} bytes, limit {p.max_bytes}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > p.max_bytes:
                    raise FetchError("too_large", url, f"more than {p.max_bytes} bytes (abandoned)")
        status, reason, charset = response.status_code, response.reason_phrase, response.charset_encoding
        return Page(url, status, reason, response.headers, bytes(body), charset)

    async def _get(self, url: str, min_interval: float) -> Page:
        """GET with retries; returns the last answer (2xx or not), raises on transport failure once
        retries run out, and at once on an answer too large."""
        host = urlsplit(url).netloc
        p = self.politeness
        for retry in range(p.max_retries + 1):
            wait: float | None = None
            async with self.limiter.slot(host, min_interval):
                self.stats.counts["requests"] += 1
                try:
                    response = await self._request(url)
                except (httpx.TimeoutException, TimeoutError) as exc:
                    detail = f"no complete answer within {p.timeout:g} s ({type(exc).__name__})"
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
