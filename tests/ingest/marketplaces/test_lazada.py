from __future__ import annotations

import json

import pytest

from ingest.marketplaces import Listing, PageFormatError, get_marketplace
from ingest.marketplaces.lazada import page_data
from tests.ingest.marketplaces.pages import fixture_bytes, parse_fixture


def test_the_json_embedded_in_the_html_is_read() -> None:
    page = parse_fixture("lazada")
    nike = page.records[0]
    assert nike.source_id == "2145678901" and nike.brand == "Nike"
    assert nike.title == "Giày thể thao nam Nike Air Max SC CW4555-002 - Đen Trắng"
    assert nike.price == 2_349_000 and nike.attributes["sale_price"] == 1_899_000
    assert (
        nike.url
        == "https://www.lazada.vn/products/giay-the-thao-nam-nike-air-max-sc-cw4555-002-i2145678901-s9876543210.html"
    )
    assert len(nike.attributes["images"]) == 2 and nike.attributes["sold"] == 1200
    assert nike.attributes["seller_id"] == "100123456" and nike.attributes["rating"] == 4.9


def test_the_breadcrumb_of_a_category_page_is_every_items_category() -> None:
    for record in parse_fixture("lazada").records:
        assert record.attributes["category_path"] == ["Giày nam", "Giày thể thao nam"]
        assert record.category == "sports shoes"


def test_protocol_relative_images_and_counts_with_suffixes() -> None:
    records = {r.source_id: r for r in parse_fixture("lazada").records}
    unbranded = records["1987654320"]
    assert unbranded.image == "https://img.lazcdn.com/g/p/0f1e2d3c4b5a69788796a5b4c3d2e1f0.jpg"
    assert unbranded.brand is None and unbranded.attributes["sold"] == 10_000  # "10K+ Đã bán"
    plain = records["1876543219"]
    assert plain.price == 549_000 and not {"sale_price", "rating"} & plain.attributes.keys()


def test_a_price_range_and_a_card_without_id_are_rejected() -> None:
    errors = parse_fixture("lazada").errors
    assert [(e.line, e.source_id) for e in errors] == [(4, "1543210986"), (7, None)]
    assert "299.000₫ - 350.000₫" in errors[0].reason
    assert errors[1].reason == "missing field 'source_id'"


def test_the_ajax_json_reads_like_the_html() -> None:
    data = page_data(fixture_bytes("lazada"))
    bare = get_marketplace("lazada").parse_page(json.dumps(data).encode())
    assert bare.records == parse_fixture("lazada").records


def test_a_captcha_page_is_not_a_listing() -> None:
    with pytest.raises(PageFormatError, match=r"no window\.pageData"):
        get_marketplace("lazada").parse_page(b"<html><script>window.location='/punish'</script></html>")
    with pytest.raises(PageFormatError, match="not valid JSON"):
        get_marketplace("lazada").parse_page(b"<script>window.pageData = {broken</script>")


def test_search_and_category_urls() -> None:
    lazada = get_marketplace("lazada")
    assert lazada.page_url(Listing(query="giày"), 2) == "https://www.lazada.vn/catalog/?q=gi%C3%A0y&page=2"
    assert lazada.page_url(Listing(category="giay-the-thao-nam"), 1) == (
        "https://www.lazada.vn/giay-the-thao-nam/?page=1"
    )
