from __future__ import annotations

import math

import pytest

from ingest.normalise import (
    brand_key,
    find_terms,
    fold_diacritics,
    folded_key,
    normalise_brand,
    normalise_category,
    normalise_colour,
    normalise_gender,
    normalise_text,
    parse_price,
)
from ingest.vocab import (
    CATEGORIES,
    CATEGORY_SYNONYMS,
    COLOUR_SYNONYMS,
    COLOURS,
    GENDER_SYNONYMS,
    GENDERS,
)


def test_fold_diacritics_strips_every_vietnamese_mark() -> None:
    assert fold_diacritics("Giày thể thao nữ màu đỏ") == "Giay the thao nu mau do"
    assert fold_diacritics("ĐÀN ÔNG đường ưởng ợ") == "DAN ONG duong uong o"
    # Decomposed input (as some feeds send it) folds the same as composed.
    assert fold_diacritics("Gia\u0300y") == "Giay"


def test_normalise_text_nfc_and_whitespace() -> None:
    assert normalise_text("  Gia\u0300y \t thể\u200b  thao \n") == "Giày thể thao"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Men", "men"), ("male", "men"), ("Men's", "men"), ("nam", "men"), ("Nam", "men"),
        ("đàn ông", "men"), ("dan ong", "men"), ("Women", "women"), ("Nữ", "women"), ("nu", "women"),
        ("phụ nữ", "women"), ("Unisex", "unisex"), ("nam nữ", "unisex"), ("Boys", "boys"),
        ("bé trai", "boys"), ("be trai", "boys"), ("Girls", "girls"), ("bé gái", "girls"),
        ("", None), (None, None), ("aliens", None),
    ],
)  # fmt: skip
def test_gender(raw: str | None, expected: str | None) -> None:
    assert normalise_gender(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Black", "black"), ("Navy Blue", "navy blue"), ("Off White", "off white"),
        ("Grey Melange", "grey"), ("Multi", "multi"), ("Turquoise Blue", "teal"),
        ("đen", "black"), ("den", "black"), ("Trắng", "white"), ("trang", "white"), ("đỏ", "red"),
        ("xanh dương", "blue"), ("xanh duong", "blue"), ("xanh navy", "navy blue"),
        ("xanh lá", "green"), ("xanh la", "green"), ("vàng", "yellow"), ("hồng", "pink"),
        ("nâu", "brown"), ("xám", "grey"), ("xam", "grey"), ("be", "beige"), ("cam", "orange"),
        ("tím", "purple"), ("bạc", "silver"), ("bac", "silver"), ("kem", "cream"),
        ("Màu đen", "black"), ("Đen/Trắng", "black"), ("Dark Navy Blue", "navy blue"),
        (None, None), ("", None), ("plaid", None),
    ],
)  # fmt: skip
def test_colour(raw: str | None, expected: str | None) -> None:
    assert normalise_colour(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Casual Shoes", "casual shoes"), ("Sports Shoes", "sports shoes"), ("Heels", "heels"),
        ("Flip Flops", "flip flops"), ("flip-flops", "flip flops"), ("Sports Sandals", "sports sandals"),
        ("giày thể thao", "sports shoes"), ("giay the thao", "sports shoes"),
        ("Giày thể thao nam", "sports shoes"), ("giày sneaker", "sneakers"),
        ("giày tây", "formal shoes"), ("giày da", "formal shoes"), ("giày cao gót", "heels"),
        ("giay cao got", "heels"), ("giày búp bê", "flats"), ("dép xỏ ngón", "flip flops"),
        ("dep tong", "flip flops"), ("sandal", "sandals"), ("xăng đan", "sandals"),
        ("bốt", "boots"), ("boot", "boots"), ("giày lười", "loafers"), ("dép lê", "slippers"),
        ("giày đá bóng", "sports shoes"), ("Women's Running Shoes", "sports shoes"),
        (None, None), ("hats", None),
    ],
)  # fmt: skip
def test_category(raw: str | None, expected: str | None) -> None:
    assert normalise_category(raw) == expected


def test_brand_display_and_key() -> None:
    assert normalise_brand("Enroute Women") == "Enroute"
    assert normalise_brand("Enroute Men") == "Enroute"
    assert normalise_brand("Kids Ville") == "Kids Ville"  # a leading audience word is the brand
    assert normalise_brand("Women") == "Women"  # never strip a brand down to nothing
    assert normalise_brand("  Red   Tape ") == "Red Tape"
    assert normalise_brand("ADIDAS") == "Adidas"
    assert normalise_brand("bitis") == "Biti's"
    assert normalise_brand(None) is None
    assert brand_key("Biti's") == brand_key("BITIS") == brand_key("bitis") == "bitis"
    assert brand_key("Enroute Women") == "enroute"
    assert brand_key("U.S. Polo Assn.") == "us polo assn"


def test_tables_cover_their_vocabularies_without_fold_conflicts() -> None:
    for table, vocabulary in (
        (GENDER_SYNONYMS, GENDERS),
        (COLOUR_SYNONYMS, COLOURS),
        (CATEGORY_SYNONYMS, CATEGORIES),
    ):
        assert set(table.values()) <= set(vocabulary)
        folded: dict[str, str] = {}
        for key, value in table.items():
            assert folded.setdefault(folded_key(key), value) == value, key


def test_find_terms_spots_filters_in_a_query() -> None:
    query = "Giày thể thao nam màu đen"
    assert find_terms(CATEGORY_SYNONYMS, query) == [("giay the thao", "sports shoes")]
    assert find_terms(GENDER_SYNONYMS, query) == [("nam", "men")]
    assert find_terms(COLOUR_SYNONYMS, "giay the thao xanh navy") == [("xanh navy", "navy blue")]


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        (1290000, "VND", 1290000.0), (2499.5, "INR", 2499.5), ("1.290.000₫", "VND", 1290000.0),
        ("1.290.000 đ", "VND", 1290000.0), ("1,290,000 VND", "VND", 1290000.0),
        ("1 290 000 VNĐ", "VND", 1290000.0), ("₹ 2,499", "INR", 2499.0), ("Rs. 1,299.00", "INR", 1299.0),
        ("250k", "VND", 250000.0), ("250K", "VND", 250000.0), ("1.2tr", "VND", 1200000.0),
        ("1,2 triệu", "VND", 1200000.0), ("1,2 trieu", "VND", 1200000.0), ("12.50", "INR", 12.5),
        ("1.290.000,50", "VND", 1290000.5), ("0", "INR", 0.0), ("", "VND", None), (None, "VND", None),
    ],
)  # fmt: skip
def test_parse_price(raw: object, currency: str, expected: float | None) -> None:
    assert parse_price(raw, currency) == expected


@pytest.mark.parametrize(
    ("raw", "currency", "message"),
    [
        (-5, "VND", "negative"), ("-200.000₫", "VND", "negative"), (math.nan, "VND", "finite"),
        (math.inf, "VND", "finite"), ("nan", "VND", "not a price"), ("liên hệ", "VND", "not a price"),
        ("100.000 - 200.000", "VND", "range"), ("₹ 2,499", "VND", "INR"), (True, "VND", "not a price"),
        ("1.29.0", "VND", "not a price"),
    ],
)  # fmt: skip
def test_parse_price_rejects(raw: object, currency: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_price(raw, currency)
