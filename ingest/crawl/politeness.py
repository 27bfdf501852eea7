"""How hard the crawler may press a site: per-host pacing, a cap on requests in flight, and the
back-off between retries. Everything here is per host (scheme://host:port), so two sites
never slow each other down and one site never sees more than its share.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

DEFAULT_USER_AGENT = "ClipShoeBot/0.1 (+https://github.com/clipshoe/clipshoe/blob/main/docs/crawling.md)"


@dataclass(frozen=True)
class Politeness:
    """The crawler's manners; `clipshoe crawl` fills it from `Settings.crawl`."""

    user_agent: str = DEFAULT_USER_AGENT
    requests_per_second: float = 0.5  # per host: one request every 2 s
    concurrency: int = 1  # requests in flight per host
    max_retries: int = 4  # after the first try, on 429, 5xx, timeouts and dropped connections
    backoff_base: float = 2.0  # seconds; the n-th retry waits up to base * 2**n
    backoff_max: float = 120.0  # no single wait is longer; a longer Retry-After gives up instead
    timeout: float = 30.0  # seconds per request, all of it: connecting, waiting, reading the body
    max_bytes: int = 20 * 1024 * 1024  # a bigger answer is abandoned (a listing page is far smaller)
    max_redirects: int = 5  # followed by hand: each hop paced per its host and checked in its robots.txt

    def __post_init__(self) -> None:
        if self.requests_per_second <= 0 or self.concurrency < 1 or self.max_retries < 0:
            raise ValueError("requests_per_second must be > 0, concurrency ≥ 1 and max_retries ≥ 0")


def backoff_delay(retry: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number `retry` (0-based): "full jitter", uniform in
    [0, min(cap, base·2^retry)], so clients that failed together do not retry together."""
    return rng.uniform(0, min(cap, base * 2**retry))


class HostLimiter:
    """Paces requests to each host (at most `rate` per second, or a robots.txt Crawl-delay if
    longer) and caps how many are in flight to it at once.

    Slots are handed out in the order they are asked for; `clock` and `sleep` are injectable
    so the pacing can be checked without waiting.
    """

    def __init__(
        self,
        rate: float,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.concurrency = concurrency
        self._clock, self._sleep = clock, sleep
        self._next: dict[str, float] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str, min_interval: float = 0.0) -> AsyncIterator[None]:
        """Hold one of the host's request slots, entered no sooner than its pacing allows."""
        semaphore = self._slots.setdefault(host, asyncio.Semaphore(self.concurrency))
        async with semaphore:
            now = self._clock()
            start = max(now, self._next.get(host, now))
            # Book the next start before sleeping, so concurrent callers queue behind this one.
            self._next[host] = start + max(self.interval, min_interval)
            if start > now:
                await self._sleep(start - now)
            yield
