"""The crawler: listing pages of marketplaces → a resumable JSONL feed of ProductRecords.

A crawl is a set of streams (site + search keyword or category), each paged from where its
checkpoint says. Streams run concurrently and share one `Fetcher`, so per-host pacing and
concurrency caps hold across all of them. A page that cannot be fetched or read stops its
stream (the error is recorded) and a rerun starts again at that page; the others go on.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from ingest.crawl.fetch import Fetcher, FetchError
from ingest.crawl.politeness import Politeness
from ingest.crawl.report import CrawlReport, load_report
from ingest.crawl.store import CrawlStore
from ingest.marketplaces import Listing, ListingPage, Marketplace, PageFormatError, get_marketplace


@dataclass(frozen=True)
class Stream:
    """One paged listing of one site."""

    site: str
    listing: Listing

    @property
    def key(self) -> str:
        return f"{self.site}|q={self.listing.query or ''}|c={self.listing.category or ''}"


class Crawler:
    def __init__(
        self,
        folder: Path,
        politeness: Politeness | None = None,
        *,
        base_urls: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`rng`, `sleep`, `clock` and `transport` are for tests: jitter, waiting, time and the wire."""
        self.folder = Path(folder)
        self.politeness = politeness or Politeness()
        self.base_urls = dict(base_urls or {})
        self._new_fetcher = partial(Fetcher, rng=rng, sleep=sleep, clock=clock, transport=transport)

    def run(self, streams: Sequence[Stream], pages: int) -> CrawlReport:
        """Crawl up to `pages` pages of each stream (resuming the folder's checkpoint); the report."""
        return asyncio.run(self.crawl(streams, pages))

    async def crawl(self, streams: Sequence[Stream], pages: int) -> CrawlReport:
        if pages < 1:
            raise ValueError("pages must be at least 1")
        streams = list({s.key: s for s in streams}.values())  # the same listing twice is one listing
        markets = {s.site: get_marketplace(s.site, self.base_urls.get(s.site)) for s in streams}
        with CrawlStore.open(self.folder) as store:
            for stream in streams:
                listing = stream.listing
                new = {"site": stream.site, "query": listing.query, "category": listing.category}
                state = store.streams.setdefault(stream.key, new | {"next_page": 1, "exhausted": False})
                state["max_pages"] = pages  # a rerun with more pages continues where this one stops
            store.save()
            fetcher = self._new_fetcher(self.politeness)
            try:
                await asyncio.gather(*(self._stream(store, fetcher, markets[s.site], s) for s in streams))
            finally:
                await fetcher.aclose()
                store.commit([], [], counts=fetcher.stats.take())
        return load_report(self.folder)

    async def _stream(self, store: CrawlStore, fetcher: Fetcher, market: Marketplace, stream: Stream) -> None:
        state = store.streams[stream.key]
        while not state["exhausted"] and state["next_page"] <= state["max_pages"]:
            number = state["next_page"]
            url = market.page_url(stream.listing, number)
            try:
                response = await fetcher.get(url)
                page = market.parse_page(response.content)
            except FetchError as exc:
                self._fail(store, fetcher, stream, exc.kind, url, exc.detail)
                return
            except PageFormatError as exc:
                self._fail(store, fetcher, stream, "parse", url, str(exc))
                return
            self._commit_page(store, fetcher, stream, number, url, page)

    @staticmethod
    def _commit_page(
        store: CrawlStore, fetcher: Fetcher, stream: Stream, number: int, url: str, page: ListingPage
    ) -> None:
        where = {"kind": "item", "site": stream.site, "url": url, "page": number}
        errors = [
            where | {"position": e.line, "source_id": e.source_id, "reason": e.reason} for e in page.errors
        ]
        counts = fetcher.stats.take()
        counts.update({"pages": 1, "error_item": len(errors)})
        fields = {"next_page": number + 1, "exhausted": not page.has_more, "last_error": None}
        store.commit(page.records, errors, (stream.key, fields), counts)

    @staticmethod
    def _fail(store: CrawlStore, fetcher: Fetcher, stream: Stream, kind: str, url: str, detail: str) -> None:
        counts = fetcher.stats.take()
        counts[f"error_{kind}"] += 1
        error = {"kind": kind, "site": stream.site, "url": url, "reason": detail}
        store.commit([], [error], (stream.key, {"last_error": f"{kind}: {detail}"}), counts)
