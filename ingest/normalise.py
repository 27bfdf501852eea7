"""The one place where raw product text becomes filter values.

Feeds call these on the way in; the search side (query parser, lexical tokenizer) calls the
same functions and tables on the way out, so a product and a query that mean the same
thing land on the same key. Vietnamese is matched with and without diacritics.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from ingest.vocab import (
    BRAND_CANONICAL,
    BRAND_GENDER_SUFFIXES,
    CATEGORY_SYNONYMS,
    COLOUR_SYNONYMS,
    GENDER_SYNONYMS,
)

__all__ = [
    "brand_key",
    "find_terms",
    "fold_diacritics",
    "folded_key",
    "folded_table",
    "normalise_brand",
    "normalise_category",
    "normalise_colour",
    "normalise_gender",
    "normalise_text",
    "parse_price",
]

_SPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff\u00ad"))


def fold_diacritics(text: str) -> str:
    """Strip every accent and tone mark ("Giày thể thao" → "Giay the thao"); đ/Đ → d/D.

    đ is a letter of its own, not d plus a mark, so NFD leaves it alone: map it by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def normalise_text(text: str) -> str:
    """NFC (feeds mix composed and decomposed Vietnamese), no invisible chars, single spaces."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _SPACE.sub(" ", text).strip()


def folded_key(text: str) -> str:
    """Lookup key: folded, lowercase, apostrophes dropped ("Men's" → "mens"), hyphens → spaces."""
    key = fold_diacritics(normalise_text(text)).lower()
    key = re.sub(r"['’`]", "", key)
    key = re.sub(r"[-_]+", " ", key)
    return _SPACE.sub(" ", key).strip()


_FOLDED: dict[int, tuple[Mapping[str, str], int, dict[str, str]]] = {}


def folded_table(table: Mapping[str, str]) -> dict[str, str]:
    """The table keyed by `folded_key`, so "nữ", "nu" and "NỮ" share one entry.

    Cached per table object (holding a reference so the id stays unique); a table that
    grows is refolded.
    """
    cached = _FOLDED.get(id(table))
    if cached is None or cached[0] is not table or cached[1] != len(table):
        cached = (table, len(table), {folded_key(k): v for k, v in table.items()})
        _FOLDED[id(table)] = cached
    return cached[2]


@lru_cache(maxsize=32)
def _phrase_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first: regex alternation takes the first alternative that matches at a position.
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def find_terms(table: Mapping[str, str], text: str) -> list[tuple[str, str]]:
    """Every table phrase in `text`, left to right, longest match first: [(phrase, canonical)].

    Phrases are returned folded; "Giày thể thao nam màu đen" against CATEGORY_SYNONYMS gives
    [("giay the thao", "sports shoes")].
    """
    folded = folded_table(table)
    pattern = _phrase_pattern(tuple(folded))
    return [(m.group(0), folded[m.group(0)]) for m in pattern.finditer(folded_key(text))]


def _lookup(table: Mapping[str, str], raw: str | None, *, phrases: bool) -> str | None:
    if raw is None or not raw.strip():
        return None
    hit = folded_table(table).get(folded_key(raw))
    if hit is None and phrases:
        found = find_terms(table, raw)
        hit = found[0][1] if found else None
    return hit


def normalise_gender(raw: str | None) -> str | None:
    """One of men, women, unisex, boys, girls; None when empty or unknown."""
    return _lookup(GENDER_SYNONYMS, raw, phrases=False)


def normalise_category(raw: str | None) -> str | None:
    """Canonical category; falls back to a known phrase inside ("Giày thể thao nam" → sports shoes)."""
    return _lookup(CATEGORY_SYNONYMS, raw, phrases=True)


def normalise_colour(raw: str | None) -> str | None:
    """Canonical colour. "Đen/Trắng" → black: the first listed colour is the dominant one."""
    if raw is None:
        return None
    raw = re.sub(r"^\s*(?:màu|mau|colou?r)\s*:?\s*", "", raw, flags=re.IGNORECASE)
    for part in re.split(r"\s*[/,&+|;]\s*|\s+(?:and|và|va)\s+", raw):
        hit = _lookup(COLOUR_SYNONYMS, part, phrases=True)
        if hit:
            return hit
    return None


def normalise_brand(raw: str | None) -> str | None:
    """Display form: the feed's own casing, minus a trailing audience word ("Enroute Women")."""
    if raw is None:
        return None
    words = normalise_text(raw).split(" ")
    if len(words) > 1 and words[-1].lower() in BRAND_GENDER_SUFFIXES:
        words = words[:-1]
    display = " ".join(words)
    if not display:
        return None
    return BRAND_CANONICAL.get(_brand_key(display), display)


def _brand_key(display: str) -> str:
    return _SPACE.sub(" ", re.sub(r"[^\w\s]", "", folded_key(display))).strip()


def brand_key(raw: str) -> str:
    """Filter key: "Biti's", "BITIS" and "Bitis" all give "bitis"; "Enroute Men" gives "enroute"."""
    display = normalise_brand(raw)
    return _brand_key(display) if display else ""


_CURRENCY_TOKENS = {"₫": "VND", "vnd": "VND", "dong": "VND", "d": "VND", "₹": "INR", "inr": "INR"}
_CURRENCY_TOKENS |= {"rs": "INR", "$": "USD", "usd": "USD"}
_MULTIPLIERS = {"k": 1e3, "nghin": 1e3, "ngan": 1e3, "tr": 1e6, "trieu": 1e6, "m": 1e6}
_WORD = r"(?<![a-z]){}(?![a-z])"
_CURRENCY_RE = re.compile(r"₫|₹|\$|" + _WORD.format(r"(?:vnd|dong|inr|rs\.?|usd|d)"))
_MULTIPLIER_RE = re.compile(_WORD.format(r"(k|nghin|ngan|trieu|tr|m)"))


def parse_price(value: object, currency: str = "VND") -> float | None:
    """A price as a number: 1290000, "1.290.000₫", "1,290,000 VND", "₹ 2,499", "250k", "1,2 triệu".

    None or "" → None (unknown). Negative, NaN, ranges, text, or a currency other than
    `currency` → ValueError, so a feed reports the row rather than storing a wrong price.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a price: {value!r}")
    if isinstance(value, int | float):
        return _checked(float(value))
    if not isinstance(value, str):
        raise ValueError(f"not a price: {value!r}")
    # Not folded_key: that turns "-" into a space, and the sign and ranges matter here.
    text = fold_diacritics(normalise_text(value)).lower()
    if re.search(r"\d\s*[-–~]\s*\d", text):
        raise ValueError(f"a price range, not one price: {value!r}")
    for token in _CURRENCY_RE.findall(text):
        found = _CURRENCY_TOKENS[token.rstrip(".")]
        if found != currency.upper():
            raise ValueError(f"price {value!r} is in {found}, expected {currency}")
    text = _CURRENCY_RE.sub(" ", text)
    multipliers = _MULTIPLIER_RE.findall(text)
    text = _SPACE.sub("", _MULTIPLIER_RE.sub(" ", text))
    if text.startswith("-"):
        raise ValueError(f"negative price: {value!r}")
    if len(multipliers) > 1 or not re.fullmatch(r"\+?\d[\d.,]*", text):
        raise ValueError(f"not a price: {value!r}")
    amount = _parse_number(text.lstrip("+"), scaled=bool(multipliers))
    return _checked(amount * (_MULTIPLIERS[multipliers[0]] if multipliers else 1.0))


def _parse_number(digits: str, *, scaled: bool) -> float:
    """Read "." and "," as thousands or decimal separators, the way the number itself implies."""
    if "." in digits and "," in digits:
        decimal = "." if digits.rfind(".") > digits.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        return float(digits.replace(thousands, "").replace(decimal, "."))
    sep = "." if "." in digits else "," if "," in digits else None
    if sep is None:
        return float(digits)
    head, *rest = digits.split(sep)
    if len(rest) > 1 or (not scaled and len(rest[0]) == 3):
        # "1.290.000", "2,499": thousands. Only "250k"/"1,2tr" read a lone separator as decimal
        # when three digits follow, since no VND or INR list price has a fraction of 3 digits.
        if not all(len(group) == 3 for group in rest):
            raise ValueError(f"not a price: {digits!r}")
        return float(head + "".join(rest))
    return float(f"{head}.{rest[0]}")


def _checked(amount: float) -> float:
    if math.isnan(amount) or math.isinf(amount):
        raise ValueError(f"not a finite price: {amount!r}")
    if amount < 0:
        raise ValueError(f"negative price: {amount!r}")
    return amount
