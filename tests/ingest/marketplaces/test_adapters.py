"""What every adapter promises, checked on each site's fixture page."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from ingest.feeds import read_feed
from ingest.marketplaces import MARKETPLACES, Listing, PageFormatError, get_marketplace
from ingest.records import FeedError, ProductRecord
from tests.ingest.marketplaces.pages import fixture_bytes, parse_fixture


def test_each_fixture_gives_five_products_and_two_reasoned_rejections(site: str) -> None:
    page = parse_fixture(site)
    assert len(page.items) == 7
    assert len(page.records) == 5 and len(page.errors) == 2
    for record in page.records:
        assert isinstance(record, ProductRecord)
        assert record.source == site and record.currency == "VND"
        assert record.title == unicodedata.normalize("NFC", record.title).strip()
        assert record.price and record.price > 1000  # đồng, not hundred-thousandths or thousands
        assert record.url and record.url.startswith("https://") and "?" not in record.url
        if record.image:
            assert record.image.startswith("https://")
            assert record.attributes["images"][0] == record.image
    for error in page.errors:
        assert isinstance(error, FeedError) and 1 <= error.line <= 7 and error.reason


def test_vietnamese_titles_keep_their_diacritics(site: str) -> None:
    titles = " ".join(r.title for r in parse_fixture(site).records)
    assert any(ch in titles for ch in "ăâđêôơưàảãáạ"), titles


def test_a_sale_keeps_the_list_price_as_price(site: str) -> None:
    on_sale = [r for r in parse_fixture(site).records if "sale_price" in r.attributes]
    assert on_sale, "every fixture has a discounted listing"
    for record in on_sale:
        assert record.attributes["sale_price"] < record.price
        assert 0 < record.attributes["discount_pct"] < 100


def test_placeholder_brands_are_no_brand(site: str) -> None:
    brands = {r.brand for r in parse_fixture(site).records}
    assert not brands & {"No Brand", "OEM", ""}


def test_records_survive_the_jsonl_feed_unchanged(site: str, tmp_path: Path) -> None:
    """The crawler writes records as JSONL lines; the ingest reader must read back the same products."""
    records = parse_fixture(site).records
    feed = tmp_path / "products.jsonl"
    lines = [json.dumps(r.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for r in records]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = list(read_feed(feed))
    assert read == records


@pytest.mark.parametrize("body", [b"<html><body>captcha</body></html>", b"[]", b"", b'{"unexpected": 1}'])
def test_a_page_that_is_not_a_listing_is_refused_with_a_reason(site: str, body: bytes) -> None:
    with pytest.raises(PageFormatError, match=site):
        get_marketplace(site).parse_page(body)


def test_page_urls_encode_the_keyword_and_differ_per_page(site: str) -> None:
    market = get_marketplace(site)
    listing = Listing(query="giày thể thao")
    first, second = market.page_url(listing, 1), market.page_url(listing, 2)
    assert first.startswith(market.api_url) and first != second
    assert "gi%C3%A0y+th%E1%BB%83+thao" in first


def test_a_base_url_moves_requests_but_not_product_links(site: str) -> None:
    market = get_marketplace(site, base_url="http://127.0.0.1:8080/")
    assert market.page_url(Listing(query="giày"), 1).startswith("http://127.0.0.1:8080/")
    record = market.parse_page(fixture_bytes(site)).records[0]
    assert record.url and record.url.startswith(MARKETPLACES[site].site_url)


def test_a_listing_needs_a_query_or_a_category() -> None:
    with pytest.raises(ValueError, match="query or a category"):
        Listing()


def test_unknown_site_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="shopee, tiki, lazada, sendo, zalora"):
        get_marketplace("amazon")
