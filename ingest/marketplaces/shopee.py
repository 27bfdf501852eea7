"""Shopee Vietnam: the search API behind shopee.vn's search and category pages.

GET /api/v4/search/search_items?by=relevancy&keyword=…&limit=60&newest=<offset>&…
→ {"items": [{"item_basic": {…}, "itemid", "shopid"}], "nomore": bool, "total_count": int, "error": null}

Prices are integers in 1/100000 of a đồng (39900000000 = 399.000 ₫); `price_before_discount`
is 0 when there is no discount. Images are file hashes on Shopee's CDN. Pages are offsets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ingest.marketplaces.base import Listing, ListingPage, Marketplace, PageFormatError, load_json
from ingest.marketplaces.values import brand, count, mapping, number, sale_and_list, sequence

_PRICE_SCALE = 100_000
_IMAGE_CDN = "https://down-vn.img.susercontent.com/file/"


class Shopee(Marketplace):
    name = "shopee"
    api_url = "https://shopee.vn"
    site_url = "https://shopee.vn"
    page_size = 60

    def page_url(self, listing: Listing, page: int) -> str:
        params: dict[str, Any] = {"by": "relevancy", "limit": self.page_size}
        if listing.query:
            params |= {"keyword": listing.query, "scenario": "PAGE_GLOBAL_SEARCH"}
        if listing.category:
            # A category id (catid) as in shopee.vn/…-cat.11035567; with a keyword it narrows the search.
            params |= {"match_id": listing.category, "scenario": "PAGE_CATEGORY"}
        params |= {"newest": (page - 1) * self.page_size, "order": "desc"}
        params |= {"page_type": "search", "version": 2}
        return f"{self.base_url}/api/v4/search/search_items?{urlencode(params)}"

    def parse_page(self, body: bytes) -> ListingPage:
        data = load_json(body, self.name)
        if data.get("error"):
            raise PageFormatError(f"shopee: error {data['error']}: {data.get('error_msg') or 'no message'}")
        if "items" not in data:
            raise PageFormatError("shopee: no 'items' in the response")
        items = data["items"] or []  # null when the search finds nothing
        return ListingPage(
            self.records(items),
            has_more=bool(items) and not data.get("nomore", False),
            total=data.get("total_count"),
        )

    def item_id(self, item: Mapping[str, Any]) -> str | None:
        basic = item.get("item_basic")
        value = item.get("itemid") or (basic.get("itemid") if isinstance(basic, Mapping) else None)
        return None if value is None else str(value)

    def item_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        basic = item.get("item_basic")
        if not isinstance(basic, Mapping):
            raise ValueError("no item_basic object")
        item_id, shop_id = basic.get("itemid"), basic.get("shopid")
        current = _price(basic.get("price"), "price")
        original = _price(basic.get("price_before_discount"), "price_before_discount")
        price, attributes = sale_and_list(current, original)
        rating = mapping(basic.get("item_rating"), "item_rating")
        rating_counts = sequence(rating.get("rating_count"), "item_rating.rating_count")
        hashes = sequence(basic.get("images"), "images") or [basic.get("image")]
        images = [_IMAGE_CDN + h for h in hashes if isinstance(h, str) and h]
        attributes |= {
            "shop_id": shop_id,
            "shop_location": basic.get("shop_location"),
            "official_shop": basic.get("is_official_shop"),
            "category_id": basic.get("catid"),
            "rating": number(rating.get("rating_star"), "item_rating.rating_star"),
            "rating_count": count(rating_counts[0], "rating_count") if rating_counts else None,
            "sold": count(basic.get("historical_sold"), "historical_sold"),
            "sold_monthly": count(basic.get("sold"), "sold"),
            "images": images,
            "variations": {
                v["name"]: v.get("options") or []
                for v in sequence(basic.get("tier_variations"), "tier_variations")
                if isinstance(v, Mapping) and v.get("name")
            },
        }
        return {
            "source_id": item_id,
            "title": basic.get("name"),
            "brand": brand(basic.get("brand")),
            "price": price,
            "currency": basic.get("currency") or self.currency,
            "image": images[0] if images else None,
            "url": f"{self.site_url}/product/{shop_id}/{item_id}" if shop_id and item_id else None,
            "attributes": attributes,
        }


def _price(value: Any, name: str) -> float | None:
    amount = number(value, name)
    return None if amount is None else amount / _PRICE_SCALE
