"""A polite, resumable crawler of marketplace listings; its output is a JSONL product feed.

    Crawler(folder, Politeness()).run([Stream("tiki", Listing(query="giày thể thao"))], pages=3)

See docs/crawling.md.
"""

from __future__ import annotations

from ingest.crawl.crawler import Crawler, Stream
from ingest.crawl.fetch import Fetcher, FetchError
from ingest.crawl.politeness import DEFAULT_USER_AGENT, HostLimiter, Politeness
from ingest.crawl.report import CrawlReport, load_report
from ingest.crawl.store import CrawlFolderError, CrawlStore

__all__ = [
    "DEFAULT_USER_AGENT",
    "CrawlFolderError",
    "CrawlReport",
    "CrawlStore",
    "Crawler",
    "FetchError",
    "Fetcher",
    "HostLimiter",
    "Politeness",
    "Stream",
    "load_report",
]
