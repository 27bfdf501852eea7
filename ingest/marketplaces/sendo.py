"""Sendo: the search-list API behind sendo.vn's search and category pages.

GET https://searchlist-api.sendo.vn/web/products?page=N&size=60&search_algo=algo6&sortType=rank&keyword=…
(or category_id=<id>)
→ {"data": [{"product_id", "name", "price", "final_price", "cat_path", "shop_id", …}],
   "meta_data": {"total_count", "page", "size"}}

`price` is the list price and `final_price` what it sells at, in whole đồng; `cat_path` is the
product page's path on www.sendo.vn; categories come as ids only.
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
    without_query,
)


class Sendo(Marketplace):
    name = "sendo"
    api_url = "https://searchlist-api.sendo.vn"
    site_url = "https://www.sendo.vn"
    page_size = 60

    def page_url(self, listing: Listing, page: int) -> str:
        params: dict[str, Any] = {"page": page, "size": self.page_size}
        params |= {"search_algo": "algo6", "sortType": "rank"}
        if listing.query:
            params["keyword"] = listing.query
        if listing.category:
            params["category_id"] = listing.category
        return f"{self.base_url}/web/products?{urlencode(params)}"

    def parse_page(self, body: bytes) -> ListingPage:
        data = load_json(body, self.name)
        if "data" not in data:
            raise PageFormatError("sendo: no 'data' in the response")
        items = self.records(data["data"] or [])
        try:
            meta = mapping(data.get("meta_data"), "meta_data")
            total = count(meta.get("total_count"), "meta_data.total_count")
            page = count(meta.get("page"), "meta_data.page") or 1
            size = count(meta.get("size"), "meta_data.size") or self.page_size
        except ValueError as exc:
            raise PageFormatError(f"sendo: {exc}") from exc
        has_more = bool(items) and (page * size < total if total is not None else len(items) >= size)
        return ListingPage(items, has_more=has_more, total=total)

    def item_id(self, item: Mapping[str, Any]) -> str | None:
        value = item.get("product_id") or item.get("id")
        return None if value is None else str(value)

    def item_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        price, attributes = sale_and_list(
            number(item.get("final_price"), "final_price"), number(item.get("price"), "price")
        )
        picture = item.get("original_img_url") or item.get("thumbnail_url")
        image = absolute_url(picture, self.site_url, "original_img_url")
        rating = mapping(item.get("rating_info"), "rating_info")
        attributes |= {
            "shop_id": item.get("shop_id"),
            "shop_name": item.get("shop_name"),
            "shop_location": item.get("shop_warehouse_city"),
            "category_ids": [str(c) for c in sequence(item.get("category_ids"), "category_ids")],
            "rating": number(item.get("rating_percent", rating.get("percent_star")), "rating_percent"),
            "rating_count": count(item.get("total_ratings", rating.get("total_rated")), "total_ratings"),
            "sold": count(item.get("order_count"), "order_count"),
            "images": [image] if image else [],
        }
        return {
            "source_id": self.item_id(item),
            "title": item.get("name"),
            "brand": brand(item.get("brand_name")),
            "price": price,
            "image": image,
            "url": without_query(absolute_url(item.get("cat_path"), self.site_url, "cat_path")),
            "attributes": attributes,
        }
