"""Lazada Vietnam: the catalogue pages of lazada.vn, whose HTML embeds the listing as JSON.

GET /catalog/?q=…&page=N (a search) or /<category-slug>/?page=N (a category)
→ HTML with `<script>window.pageData = {"mainInfo": {…}, "mods": {"listItems": […], …}};</script>`
(the same object comes back bare with `&ajax=true`; both are read).

Prices are strings of whole đồng ("299000.00"); links are protocol-relative ("//www.lazada.vn/…").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from ingest.marketplaces.base import Listing, ListingPage, Marketplace, PageFormatError, load_json
from ingest.marketplaces.values import (
    absolute_url,
    brand,
    count,
    number,
    sale_and_list,
    sequence,
    text_path,
    without_query,
)

_PAGE_DATA = re.compile(rb"window\.pageData\s*=\s*")
_HOME = frozenset({"trang chủ", "home", "lazada"})


class Lazada(Marketplace):
    name = "lazada"
    api_url = "https://www.lazada.vn"
    site_url = "https://www.lazada.vn"
    page_size = 40

    def page_url(self, listing: Listing, page: int) -> str:
        params: dict[str, Any] = {}
        if listing.query:
            params["q"] = listing.query
        params["page"] = page
        path = f"/{quote(listing.category.strip('/'))}/" if listing.category else "/catalog/"
        return f"{self.base_url}{path}?{urlencode(params)}"

    def parse_page(self, body: bytes) -> ListingPage:
        data = page_data(body)
        mods = data.get("mods")
        if not isinstance(mods, Mapping):
            raise PageFormatError("lazada: pageData has no 'mods' (a captcha or an error page?)")
        # A category page's breadcrumb is the category path of every item on it.
        crumbs = mods.get("breadcrumb") if isinstance(mods.get("breadcrumb"), list) else []
        titles = text_path([c.get("title") for c in crumbs if isinstance(c, Mapping)])
        path = [title for title in titles if title.lower() not in _HOME]
        items = self.records(mods.get("listItems") or [], path)
        info = data.get("mainInfo") if isinstance(data.get("mainInfo"), Mapping) else {}
        try:
            total = count(info.get("totalResults"), "mainInfo.totalResults")
            page = count(info.get("page"), "mainInfo.page") or 1
            size = count(info.get("pageSize"), "mainInfo.pageSize") or self.page_size
        except ValueError as exc:
            raise PageFormatError(f"lazada: {exc}") from exc
        has_more = bool(items) and (total is None or page * size < total)
        return ListingPage(items, has_more=has_more, total=total)

    def item_id(self, item: Mapping[str, Any]) -> str | None:
        value = item.get("itemId") or item.get("nid")
        return None if value is None else str(value)

    def item_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        price, attributes = sale_and_list(
            number(item.get("price"), "price"), number(item.get("originalPrice"), "originalPrice")
        )
        image = absolute_url(item.get("image"), self.site_url, "image")
        thumbs = [
            absolute_url(t.get("image"), self.site_url, "thumbs.image")
            for t in sequence(item.get("thumbs"), "thumbs")
            if isinstance(t, Mapping)
        ]
        images = list(dict.fromkeys(u for u in [image, *thumbs] if u))
        attributes |= {
            "seller_id": item.get("sellerId"),
            "seller_name": item.get("sellerName"),
            "shop_location": item.get("location"),
            "sku_id": item.get("skuId"),
            "category_ids": [str(c) for c in sequence(item.get("categories"), "categories")],
            "rating": number(item.get("ratingScore"), "ratingScore"),
            "rating_count": count(item.get("review"), "review"),
            "sold": count(item.get("itemSoldCntShow"), "itemSoldCntShow"),
            "in_stock": item.get("inStock"),
            "images": images,
        }
        return {
            "source_id": self.item_id(item),
            "title": item.get("name"),
            "brand": brand(item.get("brandName")),
            "price": price,
            "image": images[0] if images else None,
            "url": without_query(absolute_url(item.get("productUrl"), self.site_url, "productUrl")),
            "attributes": attributes,
        }


def page_data(body: bytes) -> dict[str, Any]:
    """The `window.pageData` object of a catalogue page, or the bare JSON of an ajax response."""
    if body.lstrip()[:1] == b"{":
        return load_json(body, "lazada")
    match = _PAGE_DATA.search(body)
    if match is None:
        raise PageFormatError("lazada: no window.pageData in the page (a captcha or a changed layout?)")
    text = body[match.end() :].decode("utf-8", errors="replace")
    try:
        data, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise PageFormatError(f"lazada: window.pageData is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PageFormatError(f"lazada: window.pageData is a {type(data).__name__}, not an object")
    return data
