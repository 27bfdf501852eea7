"""Small readers for the values marketplace listings carry: numbers as strings, "1,2k" sold
counts, protocol-relative URLs, sale and list prices, category paths, placeholder brands.

Each raises ValueError naming the field, so a bad item is reported with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from ingest.normalise import fold_diacritics, folded_key, normalise_category

# Sellers fill the brand field with these when the shoe has none; a brand filter should not list them.
_NO_BRAND = frozenset({"no brand", "nobrand", "oem", "khong thuong hieu", "none", "generic", "other", "khac"})
_COUNT = re.compile(r"(\d+(?:[.,]\d+)*)\s*(k|tr|trieu|m)?\b")
_COUNT_SCALE = {"k": 1_000, "tr": 1_000_000, "trieu": 1_000_000, "m": 1_000_000}


def mapping(value: Any, name: str) -> Mapping[str, Any]:
    """A nested JSON object; None → {} (the site left it out)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected an object, got {type(value).__name__}")
    return value


def sequence(value: Any, name: str) -> list[Any]:
    """A nested JSON list; None → []."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected a list, got {type(value).__name__}")
    return value


def number(value: Any, name: str) -> float | None:
    """A JSON number or a numeric string ("299000.00"); None or "" → None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a number, got {value!r}")


def count(value: Any, name: str) -> int | None:
    """A count as sites show it: 1234, "1234", "1,2k", "Đã bán 1.2K", "10k+", "2,3tr" → int.

    Without a k/tr suffix "." and "," group thousands (a count is whole); with one they mark
    the decimal, as Vietnamese and English pages write it.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name}: negative count {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a count, got {value!r}")
    match = _COUNT.search(fold_diacritics(value).lower())
    if match is None:
        raise ValueError(f"{name}: no count in {value!r}")
    digits, suffix = match.groups()
    if suffix:
        return round(float(digits.replace(",", ".")) * _COUNT_SCALE[suffix])
    return int(re.sub(r"[.,]", "", digits))


def sale_and_list(current: float | None, original: float | None) -> tuple[float | None, dict[str, Any]]:
    """(price, attributes) the way ClipShoe's feeds store them (ingest/FEEDS.md, Myntra reader):
    `price` is the list price, and a lower price the listing sells at now is `sale_price`.
    """
    if (current is not None and current < 0) or (original is not None and original < 0):
        raise ValueError(f"price: negative price (current {current}, original {original})")
    if current and original and original > current:
        discount = round(100 * (1 - current / original))
        return original, {"sale_price": current, "discount_pct": discount}
    return current or original, {}


def absolute_url(value: Any, base: str, name: str = "url") -> str | None:
    """An http(s) URL from a site's link: "//host/p.jpg" and "/p/1.html" resolve against `base`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a URL, got {value!r}")
    url = urljoin(base + "/", value.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{name}: not an http(s) URL: {value!r}")
    return url


def without_query(url: str | None) -> str | None:
    """A product link without its tracking parameters (?search=1&spm=…)."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def brand(value: Any) -> str | None:
    """The seller's brand, or None for the placeholders ("No Brand", "OEM", "Không thương hiệu")."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"brand: expected text, got {value!r}")
    return None if folded_key(value) in _NO_BRAND or not value.strip() else value


def category_from_path(path: Sequence[str]) -> str:
    """The category to classify by: the deepest level of the site's path that ClipShoe's
    vocabulary knows ("Giày - Dép nam > Giày thể thao nam" → the leaf), else the leaf, which
    then lands in attributes["unmapped"] for the tables to learn."""
    for level in reversed(path):
        if normalise_category(level):
            return level
    return path[-1]


def text_path(values: Sequence[Any]) -> list[str]:
    """A category path without blanks or non-text levels."""
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]
