"""Captions for contrastive training: English and Vietnamese text built from a product's fields.

A listing title alone teaches the model titles; shoppers type attributes ("black heels for
women", "giày thể thao nam màu đen"). So each product gets several captions from templates
over its structured fields, in both languages. Vietnamese words come from the synonym tables
in `ingest.vocab` (reversed here, the one place), so query parsing and training agree.

Each caption carries the fields it mentions (`Caption.match`): a caption that names only type,
colour and gender describes every product with those three values, and the trainer counts
those products as positives rather than as negatives.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.normalise import fold_diacritics
from ingest.vocab import CATEGORY_SYNONYMS, COLOUR_SYNONYMS, GENDER_SYNONYMS

# Vietnamese synonyms written without any diacritic: they cannot be told apart from English by
# their letters, so they are named here.
_ASCII_VIETNAMESE = {"xanh", "be", "kem", "cam", "ghi", "nam"}
FIELDS = ("category", "colour", "gender")


def is_vietnamese(phrase: str) -> bool:
    return fold_diacritics(phrase) != phrase or phrase.split()[0] in _ASCII_VIETNAMESE


def _reverse(table: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    reverse: dict[str, list[str]] = {}
    for phrase, canonical in table.items():
        if is_vietnamese(phrase):
            reverse.setdefault(canonical, []).append(phrase)
    return {k: tuple(v) for k, v in reverse.items()}


@lru_cache(maxsize=1)
def vietnamese_names() -> dict[str, dict[str, tuple[str, ...]]]:
    """field → canonical English value → its Vietnamese names (first = the usual one)."""
    return {
        "category": _reverse(CATEGORY_SYNONYMS),
        "colour": _reverse(COLOUR_SYNONYMS),
        "gender": _reverse(GENDER_SYNONYMS),
    }


def vietnamese(field_name: str, value: str, rng: random.Random | None = None) -> str | None:
    """A Vietnamese name for a canonical value: the usual one, or a random synonym given ``rng``."""
    names = vietnamese_names()[field_name].get(value)
    if not names:
        return None
    return rng.choice(names) if rng else names[0]


# English gender words as captions say them ("for men"), keyed by the canonical value.
_EN_GENDER = {"men": "men", "women": "women", "unisex": "men and women", "boys": "boys", "girls": "girls"}

# Templates name their fields in braces; a template is used only when every field it names is
# known. `*_vi` fields are Vietnamese names. The last group varies the order and wording so a
# query need not look like any one template.
EN_TEMPLATES: tuple[str, ...] = (
    "{title}",
    "a photo of {title}",
    "{brand} {category} for {gender}, {colour}",
    "{colour} {category} for {gender}",
    "{gender}'s {colour} {category}",
    "{category} in {colour} for {gender}",
    "{colour} {usage} {category}",
    "{colour} {category} by {brand}",
)
VI_TEMPLATES: tuple[str, ...] = (
    "{category_vi} {gender_vi} màu {colour_vi}",
    "{category_vi} {brand} màu {colour_vi} cho {gender_vi}",
    "{category_vi} màu {colour_vi} cho {gender_vi}",
    "{category_vi} {colour_vi} {gender_vi}",
    "{category_vi} {brand} {gender_vi}",
    "{category_vi} màu {colour_vi}",
)
_SLOT = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Caption:
    """One training text and the product fields it pins down (empty: only its own product)."""

    text: str
    lang: str
    match: dict[str, str] = field(default_factory=dict)
    kind: str = "template"  # or "description": drawn only when the recipe weights it


# The opening words of a listing's description: they carry the look ("round toed synthetic upper
# with pink overlays, central lace-ups"), the detail that tells apart shoes of one type and colour.
DESCRIPTION_WORDS = 64


def description_caption(product: Mapping[str, object]) -> Caption | None:
    words = str(product.get("description") or "").split()
    return Caption(" ".join(words[:DESCRIPTION_WORDS]), "en", kind="description") if words else None


def product_fields(product: Mapping[str, object]) -> dict[str, str]:
    """The caption slots a product fills (English), from a manifest row or record dump."""
    attributes = product.get("attributes") or {}
    assert isinstance(attributes, Mapping)
    values = {
        "title": product.get("title"),
        "brand": product.get("brand"),
        "category": product.get("category"),
        "colour": product.get("colour"),
        "gender": _EN_GENDER.get(str(product.get("gender"))),
        "usage": str(attributes.get("usage") or "").lower() or None,
    }
    if values["usage"] and values["usage"] in str(values["category"]):
        values["usage"] = None  # "casual casual shoes" says nothing twice
    return {k: str(v) for k, v in values.items() if v}


def _fill(template: str, slots: Mapping[str, str]) -> str | None:
    names = _SLOT.findall(template)
    if not all(name in slots for name in names):
        return None
    text = template.format(**{name: slots[name] for name in names})
    return re.sub(r"\s+", " ", text).strip()


def _matched(template: str, product: Mapping[str, object]) -> dict[str, str]:
    names = {name.removesuffix("_vi") for name in _SLOT.findall(template)}
    if names & {"title", "brand", "usage"}:
        return {}  # brand and title narrow a caption to (nearly) this product: no shared positives
    return {name: str(product[name]) for name in FIELDS if name in names}


def captions(product: Mapping[str, object], rng: random.Random | None = None) -> list[Caption]:
    """Every template the product can fill, English then Vietnamese (with diacritics), then the
    description's opening words when there is one.

    Vietnamese synonyms are drawn with ``rng`` when given (the dataset builder seeds it per
    product), so the manifest spreads over "giày thể thao" / "giày chạy bộ" / … instead of
    repeating one name. Diacritic-free forms need no captions of their own: a trained
    checkpoint folds diacritics before tokenising.
    """
    slots = product_fields(product)
    out = [
        Caption(text, "en", _matched(template, product))
        for template in EN_TEMPLATES
        if (text := _fill(template, slots))
    ]
    vi_slots = dict(slots)
    for name in FIELDS:
        value = product.get(name)
        name_vi = vietnamese(name, str(value), rng) if value else None
        if name_vi:
            vi_slots[f"{name}_vi"] = name_vi
    out += [
        Caption(text, "vi", _matched(template, product))
        for template in VI_TEMPLATES
        if (text := _fill(template, vi_slots))
    ]
    description = description_caption(product)
    return [*out, description] if description else out
