"""The crawler against a fake marketplace on a local HTTP server: pagination, retries, robots.txt,
per-host limits, resume, and a feed the ingest reads. Assertions are on requests and files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ingest.crawl import Crawler, Politeness, Stream
from ingest.crawl.report import CrawlReport
from ingest.feeds import read_feed
from ingest.marketplaces import Listing
from ingest.records import ProductRecord
from tests.ingest.crawl.fake_clock import FakeClock
from tests.ingest.crawl.fake_market import SITE_ROUTES, FakeMarket, serving

AGENT = "ClipShoeBot/0.1 (+https://example.org/clipshoe-test)"
FAST = Politeness(
    user_agent=AGENT, requests_per_second=1000, concurrency=2, backoff_base=0.01, backoff_max=1.0, timeout=10
)
QUERIES = ["giày thể thao", "dép nữ"]


def crawl(
    folder: Path, market: FakeMarket, queries: list[str], pages: int, politeness: Politeness = FAST, **kwargs
) -> CrawlReport:
    streams = [Stream("tiki", Listing(query=q)) for q in queries]
    return Crawler(folder, politeness, base_urls={"tiki": market.url}, **kwargs).run(streams, pages)


def feed_ids(folder: Path) -> list[str]:
    lines = (folder / "products.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["source_id"] for line in lines]


def test_every_product_is_written_once_into_a_feed_the_ingest_reads(tmp_path: Path) -> None:
    with serving(FakeMarket(pages=3, per_page=4)) as market:
        report = crawl(tmp_path, market, QUERIES, pages=3)
    ids = feed_ids(tmp_path)
    assert len(ids) == len(set(ids)) and set(ids) == market.expected_ids(QUERIES)
    assert report.complete
    summary = report.as_dict()
    assert (summary["pages"], summary["products"], summary["duplicates"]) == (6, 24, 4)
    assert summary["errors"] == {"item": 2} and summary["retries"] == 0
    read = list(read_feed(tmp_path / "products.jsonl"))
    assert len(read) == 24 and all(isinstance(r, ProductRecord) and r.source == "tiki" for r in read)
    assert all(r.title.startswith("Giày thể thao nam Biti's") for r in read)
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [(e["kind"], e["page"], e["reason"]) for e in errors] == [("item", 1, "missing field 'title'")] * 2


def test_robots_comes_first_once_and_every_request_names_the_bot(tmp_path: Path) -> None:
    with serving(FakeMarket(pages=2)) as market:
        crawl(tmp_path, market, [*QUERIES, QUERIES[0]], pages=2)  # a repeated query is crawled once
    assert market.requests[0].path == "/robots.txt"
    assert [r.path for r in market.requests].count("/robots.txt") == 1
    assert {r.user_agent for r in market.requests} == {AGENT}
    for query in QUERIES:
        assert [r.query["page"] for r in market.listing_requests(query)] == ["1", "2"]


def test_429_and_5xx_are_retried_until_the_page_comes(tmp_path: Path) -> None:
    failures = {("giày thể thao", 2): [429], ("dép nữ", 1): [500, 502]}
    with serving(FakeMarket(pages=3, failures=failures)) as market:
        report = crawl(tmp_path, market, QUERIES, pages=3)
    assert report.complete and set(feed_ids(tmp_path)) == market.expected_ids(QUERIES)
    pages_asked = Counter((r.query["q"], r.query["page"]) for r in market.listing_requests())
    assert pages_asked[("giày thể thao", "2")] == 2 and pages_asked[("dép nữ", "1")] == 3
    assert report.counters["retries"] == 3 and report.counters["retry_http_429"] == 1
    assert report.errors_by_kind == {"item": 2}


def test_a_timeout_is_retried(tmp_path: Path) -> None:
    polite = Politeness(user_agent=AGENT, requests_per_second=1000, backoff_base=0.01, timeout=1.0)
    with serving(FakeMarket(pages=1, failures={("dép nữ", 1): ["hang"]})) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1, politeness=polite)
    assert report.complete and report.counters["retry_timeout"] == 1
    assert len(market.listing_requests()) == 2


def test_a_page_that_keeps_failing_stops_its_listing_and_a_rerun_resumes_there(tmp_path: Path) -> None:
    polite = Politeness(user_agent=AGENT, requests_per_second=1000, max_retries=2, backoff_base=0.01)
    market = FakeMarket(pages=3, failures={("dép nữ", 2): [500] * 3})
    with serving(market):
        first = crawl(tmp_path, market, QUERIES, pages=3, politeness=polite)
        assert not first.complete and [s["query"] for s in first.stopped] == ["dép nữ"]
        assert first.stopped[0]["last_error"].startswith("http_500") and first.stopped[0]["next_page"] == 2
        assert first.errors_by_kind == {"http_500": 1, "item": 2}
        assert len(market.listing_requests("dép nữ")) == 1 + 3  # page 1, then page 2 three times
        second = crawl(tmp_path, market, QUERIES, pages=3, politeness=polite)
    assert second.complete and not second.stopped
    ids = feed_ids(tmp_path)
    assert len(ids) == len(set(ids)) and set(ids) == market.expected_ids(QUERIES)
    # The rerun asked only for what was missing: nothing of the finished listing, page 1 of neither.
    assert [r.query["page"] for r in market.listing_requests("dép nữ")[4:]] == ["2", "3"]
    assert len(market.listing_requests("giày thể thao")) == 3


def test_a_retry_after_longer_than_we_wait_gives_up_at_once(tmp_path: Path) -> None:
    market = FakeMarket(pages=1, failures={("dép nữ", 1): [429]}, retry_after="3600")
    with serving(market):
        report = crawl(tmp_path, market, ["dép nữ"], pages=1)
    assert report.errors_by_kind == {"http_429": 1} and "Retry-After 3600" in report.stopped[0]["last_error"]
    assert len(market.listing_requests()) == 1


def test_robots_disallow_stops_the_crawl_before_any_listing_request(tmp_path: Path) -> None:
    robots = "User-agent: *\nDisallow: /cart\n\nUser-agent: ClipShoeBot\nDisallow: /api/\n"
    with serving(FakeMarket(robots=robots)) as market:
        report = crawl(tmp_path, market, QUERIES, pages=2)
    assert market.listing_requests() == [] and report.errors_by_kind == {"robots": 2}
    assert feed_ids(tmp_path) == []


def test_rules_for_other_bots_do_not_apply_and_a_missing_robots_allows(tmp_path: Path) -> None:
    for robots in ("User-agent: OtherBot\nDisallow: /\n", None):
        with serving(FakeMarket(pages=1, robots=robots)) as market:
            report = crawl(tmp_path / str(robots is None), market, ["dép nữ"], pages=1)
        assert report.complete and len(market.listing_requests()) == 1


def test_an_unreachable_robots_means_no_crawl(tmp_path: Path) -> None:
    polite = Politeness(user_agent=AGENT, requests_per_second=1000, max_retries=1, backoff_base=0.01)
    with serving(FakeMarket(robots_status=503)) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1, politeness=polite)
    assert [r.path for r in market.requests] == ["/robots.txt", "/robots.txt"]
    assert report.errors_by_kind == {"robots": 1} and "unavailable" in report.stopped[0]["last_error"]


def test_requests_to_a_host_are_paced_by_the_rate(tmp_path: Path) -> None:
    """On a fake clock: every request after the first waited exactly 1/rate, robots.txt included."""
    clock = FakeClock()
    polite = Politeness(user_agent=AGENT, requests_per_second=2, concurrency=1)
    with serving(FakeMarket(pages=3)) as market:
        report = crawl(tmp_path, market, QUERIES, pages=3, politeness=polite, clock=clock, sleep=clock.sleep)
    assert report.complete and len(market.requests) == 7
    assert clock.sleeps == [0.5] * 6


def test_the_concurrency_cap_holds_at_the_server(tmp_path: Path) -> None:
    queries = ["a", "b", "c", "d"]
    for cap in (1, 2):
        polite = Politeness(user_agent=AGENT, requests_per_second=1000, concurrency=cap)
        with serving(FakeMarket(pages=2, delay=0.1)) as market:
            report = crawl(tmp_path / str(cap), market, queries, pages=2, politeness=polite)
        assert report.complete and len(market.listing_requests()) == 8
        assert market.max_in_flight == cap


def test_a_rerun_with_more_pages_continues_where_the_last_stopped(tmp_path: Path) -> None:
    with serving(FakeMarket(pages=3)) as market:
        first = crawl(tmp_path, market, ["dép nữ"], pages=1)
        assert first.complete and first.streams[0]["next_page"] == 2
        second = crawl(tmp_path, market, ["dép nữ"], pages=3)
    assert second.complete and [r.query["page"] for r in market.listing_requests()] == ["1", "2", "3"]
    assert set(feed_ids(tmp_path)) == market.expected_ids(["dép nữ"])


@pytest.mark.parametrize("site", sorted(SITE_ROUTES))
def test_each_sites_fixture_served_as_its_listing_is_crawled(tmp_path: Path, site: str) -> None:
    with serving(FakeMarket()) as market:
        streams = [Stream(site, Listing(query="giày"))]
        report = Crawler(tmp_path, FAST, base_urls={site: market.url}).run(streams, pages=3)
    assert report.complete and report.as_dict()["products"] == 5 and report.errors_by_kind == {"item": 2}
    assert [r.path for r in market.requests] == ["/robots.txt", SITE_ROUTES[site][0]]
    assert {json.loads(line)["source"] for line in (tmp_path / "products.jsonl").open()} == {site}


def test_a_trickling_page_is_abandoned_at_the_deadline_and_retried(tmp_path: Path) -> None:
    """A byte every 50 ms never trips a read timeout; the deadline on the whole request ends it."""
    polite = Politeness(user_agent=AGENT, requests_per_second=1000, backoff_base=0.01, timeout=1.0)
    with serving(FakeMarket(pages=1, failures={("dép nữ", 1): ["trickle"]})) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1, politeness=polite)
    assert report.complete and report.counters["retry_timeout"] == 1
    assert len(market.listing_requests()) == 2


@pytest.mark.parametrize("how", ["announced", "unannounced"])
def test_a_page_over_the_byte_cap_stops_its_listing_without_retries(tmp_path: Path, how: str) -> None:
    polite = Politeness(user_agent=AGENT, requests_per_second=1000, backoff_base=0.01, max_bytes=1000)
    failures: dict = {} if how == "announced" else {("dép nữ", 1): ["unannounced"]}
    with serving(FakeMarket(pages=1, failures=failures)) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1, politeness=polite)
    assert report.errors_by_kind == {"too_large": 1} and len(market.listing_requests()) == 1
    reason = "server announced" if how == "announced" else "more than 1000 bytes"
    assert reason in report.stopped[0]["last_error"]
    assert feed_ids(tmp_path) == []


def test_a_redirect_is_followed_as_a_request_of_its_own(tmp_path: Path) -> None:
    with serving(FakeMarket(pages=1, failures={("dép nữ", 1): ["redirect"]})) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1)
    assert report.complete and report.counters["redirects"] == 1
    assert report.counters["requests"] == 3  # robots.txt, the redirect, the page
    assert set(feed_ids(tmp_path)) == market.expected_ids(["dép nữ"])


def test_a_redirect_robots_disallows_is_not_followed(tmp_path: Path) -> None:
    with serving(FakeMarket(pages=1, failures={("dép nữ", 1): ["redirect:/cart/login"]})) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1)
    assert report.errors_by_kind == {"robots": 1} and "/cart/login" in report.stopped[0]["last_error"]
    assert not any(r.path.startswith("/cart") for r in market.requests)


def test_a_redirect_loop_ends_with_a_reason(tmp_path: Path) -> None:
    with serving(FakeMarket(pages=1, failures={("dép nữ", 1): ["redirect"] * 10})) as market:
        report = crawl(tmp_path, market, ["dép nữ"], pages=1)
    assert (
        report.errors_by_kind == {"redirect": 1}
        and "more than 5 redirects" in report.stopped[0]["last_error"]
    )
    assert len(market.listing_requests()) == 6
