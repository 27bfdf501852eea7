from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ingest.marketplaces import Listing
from ingest.marketplaces.zalora import Zalora
from tests.ingest.marketplaces.pages import fixture_bytes, parse_fixture


def test_display_prices_and_categories() -> None:
    ultraboost = parse_fixture("zalora").records[0]
    assert ultraboost.source_id == "AD342SH0RTYUVN" and ultraboost.brand == "Adidas"
    assert ultraboost.title == "Giày Thể Thao Nam Ultraboost Light"
    assert ultraboost.price == 5_000_000 and ultraboost.attributes["sale_price"] == 3_500_000
    assert ultraboost.category == "sports shoes"
    assert ultraboost.attributes["category_path"] == ["Nam", "Giày", "Giày thể thao"]
    assert ultraboost.url == "https://www.zalora.vn/adidas-giay-the-thao-nam-ultraboost-light-4478812.html"
    assert len(ultraboost.attributes["images"]) == 2


def test_relative_links_resolve_against_the_site() -> None:
    chuck = {r.source_id: r for r in parse_fixture("zalora").records}["CV230SH0IJKLVN"]
    assert chuck.image == "https://dynamic.zacdn.com/Ef4jkl-converse-chuck-hi.jpg"
    assert chuck.url == "https://www.zalora.vn/converse-chuck-taylor-co-cao-2210987.html"
    assert chuck.category == "casual shoes"  # "Giày vải"


def test_missing_meta_and_a_foreign_currency_are_rejected() -> None:
    errors = parse_fixture("zalora").errors
    assert [(e.line, e.source_id) for e in errors] == [(3, None), (7, "PU901SH0QRSTVN")]
    assert errors[0].reason == "bad item: no meta object"
    assert "is in USD, expected VND" in errors[1].reason


def test_another_storefront_reads_in_its_own_currency() -> None:
    body = fixture_bytes("zalora").replace(" ₫".encode(), b"").replace(b"$129.00", b"129.00")
    page = Zalora(base_url="https://www.zalora.sg", currency="sgd").parse_page(body)
    assert {r.currency for r in page.records} == {"SGD"} and len(page.records) == 6


def test_pages_are_offsets_and_categories_are_paths() -> None:
    zalora = Zalora()
    query = parse_qs(urlsplit(zalora.page_url(Listing(query="giày", category="nam/giay"), 3)).query)
    assert query["offset"] == ["120"] and query["url"] == ["/nam/giay"] and query["query"] == ["giày"]
