from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ingest.marketplaces import Listing, get_marketplace
from tests.ingest.marketplaces.pages import parse_fixture


def test_a_listing_maps_onto_the_record() -> None:
    hunter = parse_fixture("tiki").records[0]
    assert hunter.source_id == "203948571"
    assert hunter.title == "Giày Thể Thao Nam Biti's Hunter Street Z Collection DSMH10500"
    assert hunter.brand == "Biti's" and hunter.price == 989_000 and hunter.attributes["sale_price"] == 749_000
    assert (
        hunter.url
        == "https://tiki.vn/giay-the-thao-nam-biti-s-hunter-street-z-collection-dsmh10500-p203948571.html"
    )
    assert hunter.image and hunter.image.startswith("https://salt.tikicdn.com/cache/280x280/")
    assert hunter.attributes["category_path"] == ["Giày - Dép nam", "Giày thể thao nam", "Giày sneaker nam"]
    assert hunter.category == "sneakers"  # the deepest level the vocabulary knows
    expected = {"seller_id": 1, "seller_product_id": 203948572, "rating": 4.8, "rating_count": 523}
    expected["sold"] = 2341
    assert hunter.attributes.items() >= expected.items()


def test_category_path_falls_back_to_the_product_set_and_unknown_leaves_are_kept() -> None:
    records = {r.source_id: r for r in parse_fixture("tiki").records}
    heels = records["176543210"]
    assert heels.attributes["category_path"] == ["Giày - Dép nữ", "Giày cao gót nữ"]
    assert heels.category == "heels"
    assert "sold" not in heels.attributes  # quantity_sold is null for a new listing
    slippers = records["165432109"]
    assert slippers.category is None and slippers.attributes["unmapped"] == {"category": "Dép nam"}
    assert slippers.brand is None and slippers.attributes["in_stock"] is False  # "OEM", out of stock
    assert records["154321098"].brand is None and records["154321098"].category == "loafers"


def test_nameless_and_odd_priced_items_are_rejected() -> None:
    errors = parse_fixture("tiki").errors
    assert [(e.line, e.source_id) for e in errors] == [(3, "143210987"), (7, "132109876")]
    assert errors[0].reason == "missing field 'title'"
    assert errors[1].reason.startswith("bad item: price: expected a number")


def test_urls_page_by_number_and_stop_at_the_last_page() -> None:
    tiki = get_marketplace("tiki")
    query = parse_qs(urlsplit(tiki.page_url(Listing(query="giày nữ", category="1686"), 4)).query)
    assert query["q"] == ["giày nữ"] and query["category"] == ["1686"] and query["page"] == ["4"]
    more = b'{"data": [], "paging": {"current_page": 1, "last_page": 3}}'
    assert tiki.parse_page(more).has_more is False  # an empty page ends it whatever paging says
    assert parse_fixture("tiki").has_more is False and parse_fixture("tiki").total == 7
