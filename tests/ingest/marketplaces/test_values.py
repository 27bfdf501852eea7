from __future__ import annotations

import pytest

from ingest.marketplaces.values import absolute_url, brand, category_from_path, count, number, sale_and_list


@pytest.mark.parametrize(
    ("shown", "value"),
    [(1234, 1234), ("1234", 1234), ("1,2k", 1200), ("Đã bán 1,2k", 1200), ("1.2K sold", 1200),
     ("10K+ Đã bán", 10_000), ("2,3tr", 2_300_000), ("1.234", 1234), ("235 Đã bán", 235),
     (None, None), ("", None)],
)  # fmt: skip
def test_counts_as_sites_show_them(shown: object, value: int | None) -> None:
    assert count(shown, "sold") == value


@pytest.mark.parametrize("bad", ["nhiều", -3, True, [1]])
def test_a_count_that_is_not_one_names_the_field(bad: object) -> None:
    with pytest.raises(ValueError, match="sold"):
        count(bad, "sold")


def test_numbers() -> None:
    assert number("299000.00", "price") == 299_000 and number(5, "price") == 5.0 and number("", "p") is None
    with pytest.raises(ValueError, match="price: expected a number"):
        number("1tr", "price")


def test_sale_and_list_prices() -> None:
    assert sale_and_list(749_000, 989_000) == (989_000, {"sale_price": 749_000, "discount_pct": 24})
    assert sale_and_list(500_000, 0) == (500_000, {})
    assert sale_and_list(500_000, 400_000) == (500_000, {})  # a "list price" below the price is noise
    assert sale_and_list(None, 400_000) == (400_000, {})
    with pytest.raises(ValueError, match="negative"):
        sale_and_list(-1, 100)


def test_urls() -> None:
    assert absolute_url("//img.lazcdn.com/a.jpg", "https://www.lazada.vn") == "https://img.lazcdn.com/a.jpg"
    assert absolute_url("p/1.html", "https://tiki.vn") == "https://tiki.vn/p/1.html"
    assert absolute_url("  ", "https://tiki.vn") is None
    with pytest.raises(ValueError, match="not an http"):
        absolute_url("ftp://x/y.jpg", "https://tiki.vn")


def test_placeholder_brands() -> None:
    placeholders = ["No Brand", "OEM", "Không thương hiệu", "khong thuong hieu", " "]
    assert [brand(b) for b in placeholders] == [None] * 5
    assert brand("Biti's") == "Biti's"


def test_category_from_path_prefers_the_deepest_known_level() -> None:
    path = ["Giày - Dép nam", "Giày thể thao nam", "Giày chạy bộ nam"]
    assert category_from_path(path) == "Giày chạy bộ nam"
    assert category_from_path(["Giày nữ", "Giày cao gót", "Khác"]) == "Giày cao gót"
    assert category_from_path(["Thời trang", "Phụ kiện"]) == "Phụ kiện"
