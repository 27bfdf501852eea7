"""Synonym tables: raw words and phrases (English and Vietnamese) → canonical filter values.

Keys are written the way people write them, Vietnamese with its diacritics; lookups fold
diacritics and case on both sides (see `normalise.folded_table`), so "giày thể thao",
"giay the thao" and "GIÀY THỂ THAO" all hit the same entry. The query parser reuses these
tables to spot filter words in free text, so a synonym added here works on both sides.
"""

from __future__ import annotations

GENDERS: tuple[str, ...] = ("men", "women", "unisex", "boys", "girls")

GENDER_SYNONYMS: dict[str, str] = {
    **{w: "men" for w in ("men", "man", "male", "mens", "gents", "gentlemen", "nam", "đàn ông")},
    **{
        w: "women" for w in ("women", "woman", "female", "womens", "ladies", "lady", "nữ", "phụ nữ", "đàn bà")
    },
    **{w: "unisex" for w in ("unisex", "nam nữ", "nam và nữ", "cả nam và nữ")},
    **{w: "boys" for w in ("boys", "boy", "bé trai", "con trai", "trẻ em nam")},
    **{w: "girls" for w in ("girls", "girl", "bé gái", "con gái", "trẻ em nữ")},
}

# Canonical colours: Myntra's baseColour values, merged where shoppers would not tell them
# apart on a 60×80 photo (Charcoal → grey, Burgundy → maroon).
COLOURS: tuple[str, ...] = (
    "black", "white", "off white", "grey", "silver", "brown", "tan", "beige", "cream",
    "blue", "navy blue", "teal", "green", "olive", "red", "maroon", "pink", "purple",
    "orange", "yellow", "gold", "bronze", "multi",
)  # fmt: skip

COLOUR_SYNONYMS: dict[str, str] = {
    **{c: c for c in COLOURS},
    # English and Myntra baseColour variants.
    "gray": "grey", "grey melange": "grey", "charcoal": "grey", "charcoal grey": "grey",
    "metallic": "silver", "mushroom brown": "brown", "coffee brown": "brown", "taupe": "brown",
    "chocolate": "brown", "camel": "tan", "khaki": "beige", "nude": "beige", "skin": "beige",
    "off-white": "off white", "ivory": "off white", "navy": "navy blue", "dark blue": "navy blue",
    "turquoise blue": "teal", "turquoise": "teal", "sea green": "green", "lime green": "green",
    "fluorescent green": "green", "burgundy": "maroon", "wine": "maroon", "magenta": "pink",
    "fuchsia": "pink", "peach": "orange", "rust": "orange", "coral": "orange", "lavender": "purple",
    "violet": "purple", "mustard": "yellow", "copper": "bronze", "rose gold": "gold",
    "multicolour": "multi", "multicolor": "multi", "multi colour": "multi", "multi color": "multi",
    # Vietnamese.
    "đen": "black", "trắng": "white", "trắng ngà": "off white", "trắng kem": "off white",
    "xám": "grey", "ghi": "grey", "xám lông chuột": "grey", "bạc": "silver", "nâu": "brown",
    "nâu bò": "tan", "nâu đất": "brown", "be": "beige", "kem": "cream", "xanh": "blue",
    "xanh dương": "blue", "xanh da trời": "blue", "xanh biển": "blue", "xanh navy": "navy blue",
    "xanh than": "navy blue", "xanh đen": "navy blue", "xanh ngọc": "teal", "xanh lá": "green",
    "xanh lá cây": "green", "xanh lục": "green", "xanh rêu": "olive", "xanh quân đội": "olive",
    "đỏ": "red", "đỏ đô": "maroon", "đỏ mận": "maroon", "đỏ rượu": "maroon", "hồng": "pink",
    "tím": "purple", "cam": "orange", "vàng": "yellow", "vàng đồng": "gold", "vàng gold": "gold",
    "đồng": "bronze", "nhiều màu": "multi", "phối màu": "multi", "đa sắc": "multi",
}  # fmt: skip

CATEGORIES: tuple[str, ...] = (
    "casual shoes", "sports shoes", "formal shoes", "heels", "flats", "sandals",
    "sports sandals", "flip flops", "sneakers", "boots", "loafers", "slippers",
)  # fmt: skip

CATEGORY_SYNONYMS: dict[str, str] = {
    **{c: c for c in CATEGORIES},
    "casual shoe": "casual shoes", "casual": "casual shoes", "canvas shoes": "casual shoes",
    "giày vải": "casual shoes", "giày thời trang": "casual shoes",
    "sports shoe": "sports shoes", "sport shoes": "sports shoes", "running shoes": "sports shoes",
    "running shoe": "sports shoes", "training shoes": "sports shoes", "trainers": "sports shoes",
    "athletic shoes": "sports shoes", "football shoes": "sports shoes",
    "giày thể thao": "sports shoes", "giày chạy bộ": "sports shoes",
    # Folded, "giày đá bóng" is "giay da bong": listed so it wins over "giày da" (leather shoes).
    "giày đá bóng": "sports shoes", "giày bóng đá": "sports shoes", "giày tennis": "sports shoes",
    "sneaker": "sneakers", "giày sneaker": "sneakers", "giày sneakers": "sneakers",
    "formal shoe": "formal shoes", "formal": "formal shoes", "dress shoes": "formal shoes",
    "oxford shoes": "formal shoes", "oxfords": "formal shoes", "derby shoes": "formal shoes",
    "brogues": "formal shoes", "giày tây": "formal shoes", "giày da": "formal shoes",
    "giày công sở": "formal shoes",
    "heel": "heels", "high heels": "heels", "pumps": "heels", "stilettos": "heels", "wedges": "heels",
    "giày cao gót": "heels", "cao gót": "heels", "guốc": "heels", "giày đế xuồng": "heels",
    "flat": "flats", "flat shoes": "flats", "ballet flats": "flats", "ballerinas": "flats",
    "giày búp bê": "flats", "giày bệt": "flats",
    "sandal": "sandals", "dép sandal": "sandals", "xăng đan": "sandals",
    "dép quai hậu": "sandals",
    "sports sandal": "sports sandals", "sport sandals": "sports sandals", "sandal thể thao": "sports sandals",
    "flip flop": "flip flops", "flipflops": "flip flops", "thongs": "flip flops",
    "dép xỏ ngón": "flip flops", "dép tông": "flip flops", "dép kẹp": "flip flops",
    "boot": "boots", "ankle boots": "boots", "chelsea boots": "boots", "bốt": "boots",
    "giày bốt": "boots", "giày boot": "boots", "bốt cao cổ": "boots",
    "loafer": "loafers", "moccasins": "loafers", "slip ons": "loafers", "giày lười": "loafers",
    "giày mọi": "loafers",
    "slipper": "slippers", "slides": "slippers", "sliders": "slippers", "dép lê": "slippers",
    "dép đi trong nhà": "slippers", "dép bông": "slippers",
}  # fmt: skip

# Brands whose feeds disagree on casing or punctuation, keyed by `brand_key`. Others keep
# the feed's own display form.
BRAND_CANONICAL: dict[str, str] = {
    "adidas": "Adidas",
    "bitis": "Biti's",
    "bitis hunter": "Biti's Hunter",
    "new balance": "New Balance",
    "converse": "Converse",
    "vans": "Vans",
}

# Trailing words some Myntra brand names carry ("Enroute Women"): audience, not brand.
BRAND_GENDER_SUFFIXES: frozenset[str] = frozenset(
    {"men", "women", "boys", "girls", "unisex", "kids", "teens"}
)

# The one Vietnamese name of each canonical value, as a Vietnamese listing would say it. Used
# where ClipShoe writes Vietnamese itself (the lexical index, training captions), so English and
# Vietnamese queries meet the same products. The synonym tables above go the other way.
VIETNAMESE_NAMES: dict[str, str] = {
    # categories
    "casual shoes": "giày thời trang", "sports shoes": "giày thể thao", "formal shoes": "giày tây",
    "heels": "giày cao gót", "flats": "giày búp bê", "sandals": "dép sandal",
    "sports sandals": "sandal thể thao", "flip flops": "dép xỏ ngón", "sneakers": "giày sneaker",
    "boots": "giày bốt", "loafers": "giày lười", "slippers": "dép lê",
    # colours
    "black": "đen", "white": "trắng", "off white": "trắng ngà", "grey": "xám", "silver": "bạc",
    "brown": "nâu", "tan": "nâu bò", "beige": "be", "cream": "kem", "blue": "xanh dương",
    "navy blue": "xanh navy", "teal": "xanh ngọc", "green": "xanh lá", "olive": "xanh rêu",
    "red": "đỏ", "maroon": "đỏ đô", "pink": "hồng", "purple": "tím", "orange": "cam",
    "yellow": "vàng", "gold": "vàng gold", "bronze": "đồng", "multi": "nhiều màu",
    # genders
    "men": "nam", "women": "nữ", "unisex": "unisex", "boys": "bé trai", "girls": "bé gái",
}  # fmt: skip
