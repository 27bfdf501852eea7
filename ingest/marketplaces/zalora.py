"""Zalora: the catalogue JSON behind Zalora's listing pages (one API across its storefronts).

GET /_c/v1/desktop/list_catalog_full?query=…&offset=<n>&limit=…&sort=popularity&dir=desc
(or url=/<category path>, e.g. url=/nam/giay)
→ {"response": {"numFound": int, "start": int, "docs": [{"meta": {"sku", "name", "brand",
   "price", "special_price", "categories", …}, "image": url, "link": "<slug>.html"}]}}

Prices are display strings in the storefront's currency ("1.290.000 ₫"); pages are offsets.
Zalora no longer runs a Vietnamese storefront: point `base_url` at the storefront to crawl,
and set `currency` to match it (see docs/crawling.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ingest.marketplaces.base import Listing, ListingPage, Marketplace, PageFormatError, load_json
from ingest.marketplaces.values import (
    absolute_url,
    brand,
    count,
    mapping,
    number,
    sale_and_list,
    sequence,
    text_path,
    without_query,
)
from ingest.normalise import parse_price


class Zalora(Marketplace):
    name = "zalora"
    api_url = "https://www.zalora.vn"
    site_url = "https://www.zalora.vn"
    page_size = 60

    def __init__(self, base_url: str | None = None, currency: str | None = None) -> None:
        super().__init__(base_url)
        self.currency = (currency or type(self).currency).upper()

    def page_url(self, listing: Listing, page: int) -> str:
        params: dict[str, Any] = {}
        if listing.query:
            params["query"] = listing.query
        if listing.category:
            params["url"] = "/" + listing.category.strip("/")
        params |= {"offset": (page - 1) * self.page_size, "limit": self.page_size}
        params |= {"sort": "popularity", "dir": "desc"}
        return f"{self.base_url}/_c/v1/desktop/list_catalog_full?{urlencode(params)}"

    def parse_page(self, body: bytes) -> ListingPage:
        data = load_json(body, self.name)
        response = data.get("response")
        if not isinstance(response, Mapping) or "docs" not in response:
            raise PageFormatError("zalora: no 'response.docs' in the response")
        items = self.records(response["docs"] or [])
        try:
            total = count(response.get("numFound"), "response.numFound")
            start = count(response.get("start"), "response.start") or 0
        except ValueError as exc:
            raise PageFormatError(f"zalora: {exc}") from exc
        has_more = bool(items) and (total is None or start + len(items) < total)
        return ListingPage(items, has_more=has_more, total=total)

    def item_id(self, item: Mapping[str, Any]) -> str | None:
        meta = item.get("meta")
        value = meta.get("sku") if isinstance(meta, Mapping) else None
        return None if value is None else str(value)

    def item_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        meta = mapping(item.get("meta"), "meta")
        if not meta:
            raise ValueError("no meta object")
        price, attributes = sale_and_list(
            self._price(meta.get("special_price"), "special_price"), self._price(meta.get("price"), "price")
        )
        images = [
            url
            for url in (
                absolute_url(u, self.site_url, "images")
                for u in [item.get("image"), *sequence(item.get("images"), "images")]
            )
            if url
        ]
        images = list(dict.fromkeys(images))
        attributes |= {
            "sku": meta.get("sku"),
            "config_id": meta.get("config_id"),
            "rating": number(meta.get("rating_average"), "rating_average"),
            "rating_count": count(meta.get("ratings_total"), "ratings_total"),
            "images": images,
        }
        return {
            "source_id": meta.get("sku"),
            "title": meta.get("name"),
            "brand": brand(meta.get("brand")),
            "price": price,
            "currency": self.currency,
            "category_path": text_path(sequence(meta.get("categories"), "categories")),
            "image": images[0] if images else None,
            "url": without_query(absolute_url(item.get("link"), self.site_url, "link")),
            "attributes": attributes,
        }

    def _price(self, value: Any, name: str) -> float | None:
        try:
            return parse_price(value, self.currency)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc
