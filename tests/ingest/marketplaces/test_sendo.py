from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ingest.marketplaces import Listing, get_marketplace
from tests.ingest.marketplaces.pages import parse_fixture


def test_final_price_is_the_sale_and_price_the_list_price() -> None:
    first = parse_fixture("sendo").records[0]
    assert first.source_id == "48291734"
    assert first.title == "Giày thể thao nữ đế bằng thoáng khí màu hồng pastel"
    assert first.price == 259_000 and first.attributes["sale_price"] == 179_000
    assert (
        first.url == "https://www.sendo.vn/giay-the-thao-nu-de-bang-thoang-khi-mau-hong-pastel-48291734.html"
    )
    assert first.image == "https://media3.scdn.vn/img4/2023/05_12/aB3dE5fG7hJ9kL1mN3pQ.jpg"  # the full size
    expected = {"shop_id": 912345, "shop_name": "Giày Nữ Xinh Store", "rating": 4.6, "rating_count": 128}
    assert first.attributes.items() >= (expected | {"sold": 1034}).items()
    assert first.attributes["category_ids"] == ["1", "3", "1726", "1730"]


def test_optional_fields() -> None:
    records = {r.source_id: r for r in parse_fixture("sendo").records}
    assert records["51230987"].brand == "Thượng Đình" and "sale_price" not in records["51230987"].attributes
    assert "rating" not in records["39876543"].attributes and "sold" not in records["39876543"].attributes
    assert records["50012345"].brand is None  # "No Brand"


def test_blank_names_and_negative_prices_are_rejected() -> None:
    errors = parse_fixture("sendo").errors
    assert [(e.line, e.source_id) for e in errors] == [(2, "47123456"), (7, "46234567")]
    assert errors[0].reason == "missing field 'title'"
    assert "negative price" in errors[1].reason


def test_paging_follows_the_total_count() -> None:
    sendo = get_marketplace("sendo")
    query = parse_qs(urlsplit(sendo.page_url(Listing(query="dép"), 2)).query)
    assert query["page"] == ["2"] and query["keyword"] == ["dép"] and query["size"] == ["60"]
    item = b'{"product_id": 1, "name": "D\\u00e9p", "price": 100000, "final_price": 90000}'
    meta = b'"meta_data": {"total_count": 61, "page": 1, "size": 60}'
    page = sendo.parse_page(b'{"data": [' + item + b"], " + meta + b"}")
    assert page.has_more is True
    assert parse_fixture("sendo").has_more is False
