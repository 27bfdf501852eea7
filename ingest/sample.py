"""A small generated catalogue in the Myntra styles.csv layout, for demos and tests.

It lets a fresh machine (or CI) run the whole pipeline without the real data set, and it
exercises exactly the reader the evaluation contract uses. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingest.myntra import COLUMNS
from ingest.records import ProductRecord
from ingest.silhouettes import draw_shoe

# articleType → (drawn shape, Myntra subCategory, usage, words that go before the type in titles)
ARTICLE_TYPES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "Casual Shoes": ("sneaker", "Shoes", "Casual", ("Canvas", "Leather", "Slip-On")),
    "Sports Shoes": ("sneaker", "Shoes", "Sports", ("Running", "Training", "Walking")),
    "Formal Shoes": ("formal", "Shoes", "Formal", ("Leather", "Derby", "Oxford")),
    "Boots": ("boot", "Shoes", "Casual", ("Ankle", "Chelsea", "Leather")),
    "Heels": ("heel", "Shoes", "Casual", ("Stiletto", "Party", "Peep-Toe")),
    "Flats": ("flat", "Shoes", "Casual", ("Ballerina", "Bow", "Comfort")),
    "Sandals": ("sandal", "Sandal", "Casual", ("Strappy", "Leather", "Comfort")),
    "Sports Sandals": ("sandal", "Sandal", "Sports", ("Floater", "Trail", "Outdoor")),
    "Flip Flops": ("flip_flop", "Flip Flops", "Casual", ("Printed", "Rubber", "Beach")),
}
_WOMEN_ONLY = {"Heels", "Flats"}
_ANY = tuple(ARTICLE_TYPES)
BRANDS: dict[str, tuple[str, ...]] = {
    "Nike": ("Sports Shoes", "Casual Shoes", "Flip Flops", "Sports Sandals"),
    "Adidas": ("Sports Shoes", "Casual Shoes", "Flip Flops", "Sports Sandals"),
    "Puma": ("Sports Shoes", "Casual Shoes", "Flip Flops"),
    "Skechers": ("Sports Shoes", "Casual Shoes", "Sandals"),
    "Converse": ("Casual Shoes",),
    "Vans": ("Casual Shoes", "Flip Flops"),
    "Bata": _ANY,
    "Biti's": _ANY,
    "Catwalk": ("Heels", "Flats", "Sandals", "Boots"),
    "Clarks": ("Formal Shoes", "Casual Shoes", "Boots", "Sandals"),
}
COLOURS: dict[str, tuple[int, int, int]] = {
    "Black": (25, 25, 25), "White": (250, 250, 250), "Brown": (120, 72, 40), "Blue": (40, 90, 200),
    "Grey": (128, 128, 128), "Red": (200, 30, 40), "Navy Blue": (20, 30, 90), "Green": (40, 140, 60),
    "Silver": (192, 192, 200), "Beige": (222, 200, 160), "Gold": (212, 175, 55), "Pink": (240, 130, 170),
    "Tan": (210, 160, 110), "Yellow": (240, 210, 40), "Purple": (120, 50, 150), "Off White": (245, 240, 225),
}  # fmt: skip
GENDERS = ("Men", "Women", "Unisex", "Boys", "Girls")
_GENDER_WEIGHTS = (5, 5, 1, 1, 1)
_PRICE_RANGES = {"Flip Flops": (500, 1500), "Sandals": (700, 3000), "Sports Sandals": (900, 3500)}


def generate_sample_catalog(out_dir: Path, n: int = 60, seed: int = 0) -> Path:
    """Write `out_dir/styles.csv` (Myntra columns) and `out_dir/images/<id>.jpg`; return the CSV path."""
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows = [_product(rng, 10_001 + i) for i in range(n)]
    for row in rows:
        shape = ARTICLE_TYPES[row["articleType"]][0]
        # Shade and position vary a little per product, as in real shots of one colourway.
        shade = row["id"] * 7 % 13 - 6
        r, g, b = (min(255, max(0, c + shade)) for c in COLOURS[row["baseColour"]])
        photo = draw_shoe(shape, (r, g, b), variant=row["id"])
        photo.save(out_dir / row["image"], quality=90)
    path = out_dir / "styles.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _product(rng: random.Random, product_id: int) -> dict[str, Any]:
    brand = rng.choice(tuple(BRANDS))
    article = rng.choice(BRANDS[brand])
    _, sub_category, usage, styles = ARTICLE_TYPES[article]
    gender = rng.choices(GENDERS, _GENDER_WEIGHTS)[0]
    if article in _WOMEN_ONLY or brand == "Catwalk":
        gender = rng.choice(("Women", "Girls"))
    colour = rng.choice(tuple(COLOURS))
    style = rng.choice(styles)
    low, high = _PRICE_RANGES.get(article, (1200, 9000))
    price = rng.randrange(low, high, 100) + 99
    discounted = price if rng.random() < 0.7 else int(price * rng.choice((0.6, 0.7, 0.8)))
    title = f"{brand} {gender} {colour} {style} {article}"
    return {
        "id": product_id,
        "productDisplayName": title,
        "brandName": brand,
        "price": price,
        "discountedPrice": discounted,
        "gender": gender,
        "baseColour": colour,
        "masterCategory": "Footwear",
        "subCategory": sub_category,
        "articleType": article,
        "season": rng.choice(("Summer", "Fall", "Winter", "Spring")),
        "year": rng.choice((2011, 2012, 2013)),
        "usage": usage,
        "variantName": f"{style} {product_id % 97}",
        "articleAttributes": json.dumps({"Type": style}),
        "description": f"A pair of {colour.lower()} {style.lower()} {article.lower()} by {brand}.",
        "materials_care": "Wipe with a clean, dry cloth",
        "image_views": "default",
        "image": f"images/{product_id}.jpg",
        "image_225x300": "",
    }


def write_jsonl_feed(
    out_dir: Path, records: Iterable[ProductRecord | dict[str, Any]], name: str = "feed.jsonl"
) -> Path:
    """Write records (models or raw dicts, aliases allowed) as a JSONL feed; return its path."""
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            obj = record.model_dump(exclude_none=True) if isinstance(record, ProductRecord) else record
            handle.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path
