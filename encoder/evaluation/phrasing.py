"""How shoppers ask for a type, colour and audience, in English and Vietnamese.

Attribute queries must not echo listing titles ("Puma Men's Black Shoe"), or they test title
matching, not understanding. Each canonical value (the `ingest.vocab` vocabularies) gets a
few natural wordings; every wording maps back to its value through `ingest.normalise`, so the
lexical side reads them as the catalogue does (tests/encoder/evaluation checks this).
"""

from __future__ import annotations

import random

# Category → wordings. Values with no entry fall back to the canonical name.
TYPE_EN: dict[str, tuple[str, ...]] = {
    "casual shoes": ("casual shoes", "canvas shoes"),
    "sports shoes": ("sports shoes", "running shoes", "training shoes"),
    "formal shoes": ("formal shoes", "dress shoes"),
    "heels": ("heels", "high heels"),
    "flats": ("flats", "flat shoes", "ballet flats"),
    "sandals": ("sandals",),
    "sports sandals": ("sports sandals", "sport sandals"),
    "flip flops": ("flip flops", "flip-flops"),
}
TYPE_VI: dict[str, tuple[str, ...]] = {
    "casual shoes": ("giày thời trang", "giày vải"),
    "sports shoes": ("giày thể thao", "giày chạy bộ"),
    "formal shoes": ("giày tây", "giày da", "giày công sở"),
    "heels": ("giày cao gót",),
    "flats": ("giày búp bê", "giày bệt"),
    "sandals": ("dép sandal", "xăng đan", "dép quai hậu"),
    # The vocabulary has no Vietnamese word for sports sandals; shoppers say this.
    "sports sandals": ("dép sandal thể thao", "xăng đan thể thao"),
    "flip flops": ("dép tông", "dép xỏ ngón", "dép kẹp"),
}

COLOUR_EN: dict[str, str] = {"multi": "multicolour", "off white": "off-white"}
COLOUR_VI: dict[str, str] = {
    "black": "đen", "white": "trắng", "off white": "trắng ngà", "grey": "xám", "silver": "bạc",
    "brown": "nâu", "tan": "nâu bò", "beige": "be", "cream": "kem", "blue": "xanh dương",
    "navy blue": "xanh navy", "teal": "xanh ngọc", "green": "xanh lá", "olive": "xanh rêu",
    "red": "đỏ", "maroon": "đỏ đô", "pink": "hồng", "purple": "tím", "orange": "cam",
    "yellow": "vàng", "gold": "vàng gold", "bronze": "đồng", "multi": "nhiều màu",
}  # fmt: skip

# Gender → (after "for", possessive before the noun).
GENDER_EN: dict[str, tuple[str, str]] = {
    "men": ("men", "men's"),
    "women": ("women", "women's"),
    "boys": ("boys", "boys'"),
    "girls": ("girls", "girls'"),
    "unisex": ("men and women", "unisex"),
}
GENDER_VI: dict[str, str] = {
    "men": "nam", "women": "nữ", "boys": "bé trai", "girls": "bé gái", "unisex": "nam nữ",
}  # fmt: skip

EN_FORMS = (
    "{c} {t} for {g}",  # black casual shoes for men
    "{gp} {c} {t}",  # women's white heels
    "{t} in {c} for {g}",  # heels in white for women
    "{gp} {t} in {c}",  # men's running shoes in black
)
VI_FORMS = (
    "{t} {g} {mc}",  # giày thể thao nam màu đen
    "{t} {mc} cho {g}",  # giày cao gót màu trắng cho nữ
    "{t} {g} {c}",  # giày cao gót nữ trắng (how people type into a search box)
    "tìm {t} {mc} dành cho {g}",  # tìm giày thể thao màu đen dành cho nam
)


def _colour_vi(colour: str) -> tuple[str, str]:
    """(bare word, with "màu"): "nhiều màu" already says colour, so it takes no prefix."""
    word = COLOUR_VI.get(colour, colour)
    return word, word if "màu" in word else f"màu {word}"


def phrase_en(category: str, colour: str, gender: str | None, rng: random.Random, form: int) -> str:
    t = rng.choice(TYPE_EN.get(category, (category,)))
    c = COLOUR_EN.get(colour, colour)
    if gender is None:  # the audience comes from a filter instead
        return f"{c} {t}"
    g, gp = GENDER_EN.get(gender, (gender, gender))
    return EN_FORMS[form % len(EN_FORMS)].format(t=t, c=c, g=g, gp=gp)


def phrase_vi(category: str, colour: str, gender: str, rng: random.Random, form: int) -> str:
    t = rng.choice(TYPE_VI.get(category, (category,)))
    c, mc = _colour_vi(colour)
    g = GENDER_VI.get(gender, gender)
    return VI_FORMS[form % len(VI_FORMS)].format(t=t, c=c, mc=mc, g=g)


def pick_forms(rng: random.Random, n_forms: int, k: int) -> list[int]:
    """k distinct phrasings per intent, seeded: a set varies wording without repeating itself."""
    return sorted(rng.sample(range(n_forms), min(k, n_forms)))
