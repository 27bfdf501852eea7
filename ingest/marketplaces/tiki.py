"""Tiki: the listing API behind tiki.vn's search and category pages.

GET /api/v2/products?limit=40&include=advertisement&aggregations=2&q=…&page=N  (or category=<id>)
→ {"data": [{"id", "name", "brand_name", "price", "original_price", "url_path", …}],
   "paging": {"current_page", "last_page", "total", "per_page"}}

Prices are whole đồng. The category path comes from the item's tracking block
(`visible_impression_info.amplitude.category_l1_name` …) or `productset_group_name`.
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
    text_path,
    without_query,
)

_LEVELS = ("category_l1_name", "category_l2_name", "category_l3_name", "category_l4_name")


class Tiki(Marketplace):
    name = "tiki"
    api_url = "https://tiki.vn"
    site_url = "https://tiki.vn"
    page_size = 40

    def page_url(self, listing: Listing, page: int) -> str:
        params: dict[str, Any] = {"limit": self.page_size, "include": "advertisement", "aggregations": 2}
        if listing.query:
            params["q"] = listing.query
        if listing.category:
            params["category"] = listing.category  # the id in tiki.vn/giay-the-thao-nam/c6826
        params["page"] = page
        return f"{self.base_url}/api/v2/products?{urlencode(params)}"

    def parse_page(self, body: bytes) -> ListingPage:
        data = load_json(body, self.name)
        if "data" not in data:
            raise PageFormatError("tiki: no 'data' in the response")
        try:
            paging = mapping(data.get("paging"), "paging")
            current = count(paging.get("current_page"), "paging.current_page")
            last = count(paging.get("last_page"), "paging.last_page")
        except ValueError as exc:
            raise PageFormatError(f"tiki: {exc}") from exc
        items = self.records(data["data"] or [])
        has_more = bool(items) and (current is None or last is None or current < last)
        return ListingPage(items, has_more=has_more, total=paging.get("total"))

    def item_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        price, attributes = sale_and_list(
            number(item.get("price"), "price"),
            number(item.get("original_price") or item.get("list_price"), "original_price"),
        )
        impression = mapping(item.get("visible_impression_info"), "visible_impression_info")
        amplitude = mapping(impression.get("amplitude"), "visible_impression_info.amplitude")
        path = text_path([amplitude.get(level) for level in _LEVELS])
        if not path and isinstance(item.get("productset_group_name"), str):
            path = text_path(item["productset_group_name"].split("/"))
        sold = mapping(item.get("quantity_sold"), "quantity_sold")
        thumbnail = absolute_url(item.get("thumbnail_url"), self.site_url, "thumbnail_url")
        attributes |= {
            "seller_id": item.get("seller_id"),
            "seller_product_id": item.get("seller_product_id"),
            "sku": item.get("sku"),
            "rating": number(item.get("rating_average"), "rating_average"),
            "rating_count": count(item.get("review_count"), "review_count"),
            "sold": count(sold.get("value"), "quantity_sold.value"),
            "images": [thumbnail] if thumbnail else [],
            "in_stock": item.get("inventory_status") == "available" if item.get("inventory_status") else None,
        }
        return {
            "source_id": item.get("id"),
            "title": item.get("name"),
            "brand": brand(item.get("brand_name")),
            "price": price,
            "category_path": path,
            "image": thumbnail,
            "url": without_query(absolute_url(item.get("url_path"), self.site_url, "url_path")),
            "attributes": attributes,
        }
