"""Intent parsing, English and Vietnamese, with and without diacritics."""

from __future__ import annotations

import pytest

from search.query import parse_query

BRANDS = {"nike": "Nike", "puma": "Puma", "bitis": "Biti's", "new balance": "New Balance"}


def understood(q: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for u in parse_query(q, BRANDS).understood:
        out.setdefault(u.kind, []).append(u.value)
    return out


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("giày thể thao nam màu đen", {"category": ["sports shoes"], "gender": ["men"], "colour": ["black"]}),
        ("giay the thao nam mau den", {"category": ["sports shoes"], "gender": ["men"], "colour": ["black"]}),
        ("GIÀY CAO GÓT NỮ MÀU ĐỎ", {"category": ["heels"], "gender": ["women"], "colour": ["red"]}),
        ("white leather sneakers", {"colour": ["white"], "category": ["sneakers"]}),
        ("women's black heels", {"gender": ["women"], "colour": ["black"], "category": ["heels"]}),
        ("Nike running shoes for men", {"brand": ["Nike"], "category": ["sports shoes"], "gender": ["men"]}),
        ("dép xỏ ngón bitis", {"category": ["flip flops"], "brand": ["Biti's"]}),
        ("new balance xám", {"brand": ["New Balance"], "colour": ["grey"]}),
    ],
)
def test_attributes(query: str, expected: dict) -> None:
    assert understood(query) == expected


@pytest.mark.parametrize(
    ("query", "price_min", "price_max"),
    [
        ("giày nam dưới 2 triệu", None, 2_000_000),
        ("giay nam duoi 2tr", None, 2_000_000),
        ("sneakers under 1500", None, 1500),
        ("heels below ₹2,499", None, 2499),
        ("sandal 500k-1tr", 500_000, 1_000_000),
        ("sandal 500k–1tr", 500_000, 1_000_000),
        ("dép từ 300 đến 800k", 300_000, 800_000),
        ("boots between 1000 and 3000", 1000, 3000),
        ("boots over 2,000", 2000, None),
        ("giày trên 1 triệu", 1_000_000, None),
        ("giày tây 1.500.000 - 2.000.000 đ", 1_500_000, 2_000_000),
        ("flats 3000-1000", 1000, 3000),
    ],
)
def test_prices(query: str, price_min: float | None, price_max: float | None) -> None:
    got = understood(query)
    assert got.get("price_min", [None])[0] == price_min
    assert got.get("price_max", [None])[0] == price_max


def test_price_phrases_leave_the_text_the_encoders_see() -> None:
    p = parse_query("white sneakers under 1500")
    assert p.text == "white sneakers"


@pytest.mark.parametrize("query", ["Nike Air Max 90", "size 42 sneakers", "giày made in Việt Nam", "shoes"])
def test_no_false_intent(query: str) -> None:
    got = understood(query)
    assert "price_min" not in got and "price_max" not in got
    assert "gender" not in got
