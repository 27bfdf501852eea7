"""Query understanding: the intent a shopper types becomes filters and boosts.

"giày thể thao nam màu đen dưới 2 triệu" → category sports shoes (boost), gender men,
colour black, price ≤ 2,000,000. English and Vietnamese, with or without diacritics, share
the synonym tables of `ingest.vocab`, so the catalogue and the queries speak one vocabulary.
The response shows what was understood; the caller can switch any of it off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ingest.normalise import find_terms, fold_diacritics
from ingest.vocab import CATEGORY_SYNONYMS, COLOUR_SYNONYMS, GENDER_SYNONYMS

Kind = Literal["price_min", "price_max", "gender", "colour", "category", "brand"]
KINDS: tuple[Kind, ...] = ("price_min", "price_max", "gender", "colour", "category", "brand")

_MULT = {"k": 1e3, "nghin": 1e3, "ngan": 1e3, "tr": 1e6, "trieu": 1e6, "cu": 1e6, "m": 1e6}
_NUM = (
    r"(?:₹|rs\.?|\$|₫)?\s*(\d+(?:[.,]\d+)*)\s*(k|nghin|ngan|trieu|tr|cu|m)?(?![a-z])"
    r"\s*(?:vnd|dong|d|inr|rs|₫|₹)?"
)
_RANGE = re.compile(rf"(?:tu|from|between|gia)?\s*{_NUM}\s*(?:-|–|—|~|den|toi|to|and)\s*{_NUM}")
_MAX = re.compile(
    rf"(?:duoi|under|below|less than|up to|at most|cheaper than|toi da|khong qua|re hon|<=?)\s*{_NUM}"
)
_MIN = re.compile(rf"(?:tren|over|above|more than|at least|it nhat|>=?)\s*{_NUM}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Understood:
    kind: Kind
    value: str | float
    phrase: str  # the words of the query it came from (folded)


@dataclass
class ParsedQuery:
    raw: str
    text: str  # what the encoders see: the query minus price phrases (numbers only confuse them)
    understood: list[Understood] = field(default_factory=list)

    def values(self, kind: Kind) -> list[str | float]:
        return [u.value for u in self.understood if u.kind == kind]


def _amount(digits: str, mult: str | None) -> float:
    if mult:
        return float(digits.replace(",", ".")) * _MULT[mult]
    return float(re.sub(r"[.,]", "", digits))  # "1.500.000", "2,499": thousands separators


def _prices(folded: str) -> tuple[list[Understood], str]:
    found: list[Understood] = []
    rest = folded
    m = _RANGE.search(rest)
    if m:
        lo_mult = m.group(2) or m.group(4)  # "500-800k": the unit of the upper bound applies to both
        lo, hi = _amount(m.group(1), lo_mult), _amount(m.group(3), m.group(4))
        if lo > hi:
            lo, hi = hi, lo
        found += [
            Understood("price_min", lo, m.group(0).strip()),
            Understood("price_max", hi, m.group(0).strip()),
        ]
        rest = rest[: m.start()] + " " + rest[m.end() :]
    for pattern, kind in ((_MAX, "price_max"), (_MIN, "price_min")):
        m = pattern.search(rest)
        if m and not any(u.kind == kind for u in found):
            found.append(Understood(kind, _amount(m.group(1), m.group(2)), m.group(0).strip()))  # type: ignore[arg-type]
            rest = rest[: m.start()] + " " + rest[m.end() :]
    return found, rest


def _drop_viet_nam(terms: list[tuple[str, str]], folded: str) -> list[tuple[str, str]]:
    # "nam" is "men", except in "Việt Nam" (made in Vietnam): not a gender.
    return [t for t in terms if not (t[0] == "nam" and "viet nam" in folded and folded.count("nam") == 1)]


def parse_query(text: str, brands: dict[str, str] | None = None) -> ParsedQuery:
    """`brands` maps folded brand keys to display names (the catalogue's brands)."""
    folded = _SPACES.sub(" ", fold_diacritics(text).lower()).strip()
    understood, rest = _prices(folded)
    for kind, table in (
        ("gender", GENDER_SYNONYMS),
        ("colour", COLOUR_SYNONYMS),
        ("category", CATEGORY_SYNONYMS),
    ):
        terms = find_terms(table, rest)
        if kind == "gender":
            terms = _drop_viet_nam(terms, rest)
        for phrase, value in dict.fromkeys(terms):
            understood.append(Understood(kind, value, phrase))  # type: ignore[arg-type]
    if brands:
        for phrase, value in dict.fromkeys(find_terms(brands, rest)):
            understood.append(Understood("brand", value, phrase))
    clean = _SPACES.sub(" ", rest).strip() if rest != folded else text.strip()
    return ParsedQuery(raw=text, text=clean or text.strip(), understood=understood)
