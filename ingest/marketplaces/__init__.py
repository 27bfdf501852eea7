"""Marketplace adapters: listing-page URLs and parsers for Vietnamese shopping sites, by name.

`get_marketplace("tiki", base_url=None)` builds one; `ingest.crawl` fetches the pages.
"""

from __future__ import annotations

from ingest.marketplaces.base import Listing, ListingPage, Marketplace, PageFormatError
from ingest.marketplaces.lazada import Lazada
from ingest.marketplaces.sendo import Sendo
from ingest.marketplaces.shopee import Shopee
from ingest.marketplaces.tiki import Tiki
from ingest.marketplaces.zalora import Zalora

__all__ = ["MARKETPLACES", "Listing", "ListingPage", "Marketplace", "PageFormatError", "get_marketplace"]

MARKETPLACES: dict[str, type[Marketplace]] = {m.name: m for m in (Shopee, Tiki, Lazada, Sendo, Zalora)}


def get_marketplace(name: str, base_url: str | None = None) -> Marketplace:
    """The adapter for `name`; `base_url` sends its requests elsewhere (a mirror, a test server)."""
    try:
        cls = MARKETPLACES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown marketplace {name!r}; known: {', '.join(MARKETPLACES)}") from None
    return cls(base_url)
