"""Pacing, concurrency caps, back-off and robots.txt rules, on a fake clock: no wall time."""

from __future__ import annotations

import asyncio
import random

import pytest

from clipshoe.settings import CrawlSettings
from ingest.crawl.politeness import HostLimiter, Politeness, backoff_delay
from ingest.crawl.robots import rules_from_response
from tests.ingest.crawl.fake_clock import FakeClock

AGENT = "ClipShoeBot/0.1 (+https://example.org/bot)"


def starts(
    limiter: HostLimiter, clock: FakeClock, hosts: list[str], min_interval: float = 0.0
) -> list[tuple[str, float]]:
    order: list[tuple[str, float]] = []

    async def one(host: str) -> None:
        async with limiter.slot(host, min_interval):
            order.append((host, clock.now))

    async def main() -> None:
        await asyncio.gather(*(one(h) for h in hosts))

    asyncio.run(main())
    return order


def test_requests_to_one_host_are_spaced_by_the_rate() -> None:
    clock = FakeClock()
    limiter = HostLimiter(rate=2, concurrency=1, clock=clock, sleep=clock.sleep)
    order = starts(limiter, clock, ["a"] * 5)
    assert [t for _, t in order] == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_hosts_are_paced_independently() -> None:
    clock = FakeClock()
    limiter = HostLimiter(rate=1, concurrency=1, clock=clock, sleep=clock.sleep)
    order = starts(limiter, clock, ["a", "b", "a", "b"])
    assert sorted(t for h, t in order if h == "a") == [0.0, 1.0]
    assert sorted(t for h, t in order if h == "b") == [0.0, 1.0]


def test_a_robots_crawl_delay_longer_than_the_rate_wins() -> None:
    clock = FakeClock()
    limiter = HostLimiter(rate=10, concurrency=1, clock=clock, sleep=clock.sleep)
    assert [t for _, t in starts(limiter, clock, ["a"] * 3, min_interval=5.0)] == [0.0, 5.0, 10.0]


def test_concurrency_caps_requests_in_flight_per_host() -> None:
    limiter = HostLimiter(rate=1e6, concurrency=2)
    in_flight, peak = {"a": 0, "b": 0}, {"a": 0, "b": 0}

    async def one(host: str) -> None:
        async with limiter.slot(host):
            in_flight[host] += 1
            peak[host] = max(peak[host], in_flight[host])
            for _ in range(3):
                await asyncio.sleep(0)  # let every other task try to enter
            in_flight[host] -= 1

    async def main() -> None:
        await asyncio.gather(*(one(h) for h in ["a"] * 6 + ["b"] * 6))

    asyncio.run(main())
    assert peak == {"a": 2, "b": 2}


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for retry in range(8):
        delays = [backoff_delay(retry, 1.0, 30.0, rng) for _ in range(200)]
        ceiling = min(30.0, 2.0**retry)
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole window
        assert len(set(delays)) == 200


def test_the_defaults_are_the_settings_defaults() -> None:
    settings, politeness = CrawlSettings(), Politeness()
    for name in ("user_agent", "requests_per_second", "concurrency", "max_retries", "backoff_base"):
        assert getattr(settings, name) == getattr(politeness, name)
    assert settings.backoff_max == politeness.backoff_max and settings.timeout == politeness.timeout
    assert politeness.user_agent.startswith("ClipShoeBot/")


def test_impolite_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Politeness(requests_per_second=0)
    with pytest.raises(ValueError):
        Politeness(concurrency=0)


ROBOTS = """
User-agent: *
Disallow: /cart
Crawl-delay: 1

User-agent: ClipShoeBot
Disallow: /api/private/
Crawl-delay: 3
Request-rate: 1/10
"""


def test_robots_rules_for_our_agent() -> None:
    rules = rules_from_response(200, ROBOTS)
    assert rules.allowed("https://shop.vn/api/v2/products?page=1", AGENT)
    assert not rules.allowed("https://shop.vn/api/private/x", AGENT)
    assert rules.allowed("https://shop.vn/cart", AGENT)  # our own group replaces the * group
    assert not rules.allowed("https://shop.vn/cart", "OtherBot/1.0")
    assert rules.min_interval(AGENT) == 10.0  # Request-rate 1/10 is stricter than Crawl-delay 3


def test_missing_robots_allows_everything_and_an_unreachable_one_nothing() -> None:
    assert rules_from_response(404).allowed("https://shop.vn/anything", AGENT)
    assert rules_from_response(403).allowed("https://shop.vn/anything", AGENT)
    for status in (500, 503, 429, None):
        rules = rules_from_response(status)
        assert not rules.allowed("https://shop.vn/anything", AGENT) and "unavailable" in rules.reason
