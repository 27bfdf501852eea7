from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from ingest.marketplaces import Listing, PageFormatError, get_marketplace
from tests.ingest.marketplaces.pages import parse_fixture


def test_prices_are_scaled_from_hundred_thousandths_and_the_sale_kept() -> None:
    hunter = parse_fixture("shopee").records[0]
    assert hunter.source_id == "23456789012"
    assert hunter.title == "Giày thể thao nam Biti's Hunter X Dune Đen chính hãng"
    assert hunter.brand == "Biti's"
    assert hunter.price == 1_199_000 and hunter.attributes["sale_price"] == 899_000
    assert hunter.attributes["discount_pct"] == 25
    assert hunter.url == "https://shopee.vn/product/112233445/23456789012"
    assert hunter.image == "https://down-vn.img.susercontent.com/file/vn-11134207-7r98o-lq1a2b3c4d5e6f"
    assert len(hunter.attributes["images"]) == 2
    expected = {"shop_id": 112233445, "official_shop": True, "category_id": 11035801, "rating": 4.87}
    expected |= {"rating_count": 1830, "sold": 4521, "sold_monthly": 312}
    assert hunter.attributes.items() >= expected.items()
    assert hunter.attributes["variations"] == {"Màu sắc": ["Đen", "Trắng"], "Size": ["39", "40", "41", "42"]}


def test_no_discount_means_price_only_and_missing_fields_stay_missing() -> None:
    records = {r.source_id: r for r in parse_fixture("shopee").records}
    adidas = records["18273645501"]
    assert adidas.price == 1_290_000 and "sale_price" not in adidas.attributes
    assert adidas.title.startswith("Giày chạy bộ")  # decomposed diacritics arrive composed
    no_rating = records["22998877665"]
    assert no_rating.brand is None and "rating" not in no_rating.attributes
    no_photo = records["20011122233"]
    assert no_photo.image is None and no_photo.brand is None  # "No Brand"


def test_malformed_items_are_rejected_by_position_and_id() -> None:
    errors = parse_fixture("shopee").errors
    assert [(e.line, e.source_id) for e in errors] == [(6, "21212121212"), (7, "24242424242")]
    assert errors[0].reason == "bad item: no item_basic object"
    assert "price: expected a number, got 'liên hệ'" in errors[1].reason


def test_search_urls_page_by_offset_and_categories_use_match_id() -> None:
    shopee = get_marketplace("shopee")
    query = parse_qs(urlsplit(shopee.page_url(Listing(query="giày nữ"), 3)).query)
    assert query["keyword"] == ["giày nữ"] and query["newest"] == ["120"] and query["limit"] == ["60"]
    assert urlsplit(shopee.page_url(Listing(query="x"), 1)).path == "/api/v4/search/search_items"
    category = parse_qs(urlsplit(shopee.page_url(Listing(category="11035801"), 1)).query)
    assert category["match_id"] == ["11035801"] and category["scenario"] == ["PAGE_CATEGORY"]


def test_nomore_or_an_empty_page_ends_the_listing() -> None:
    shopee = get_marketplace("shopee")
    assert shopee.parse_page(b'{"items": null, "nomore": false, "error": null}').has_more is False
    item = b'{"item_basic": {"itemid": 1, "shopid": 2, "name": "Gi\\u00e0y", "price": 10000000000}}'
    more = shopee.parse_page(b'{"items": [' + item + b'], "nomore": false}')
    assert more.has_more is True and more.records[0].price == 100_000


def test_an_error_body_is_not_a_listing() -> None:
    with pytest.raises(PageFormatError, match="90309999"):
        get_marketplace("shopee").parse_page(b'{"error": 90309999, "error_msg": "blocked", "items": null}')
