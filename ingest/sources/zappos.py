"""Reader for the UT Zappos50K data set (Yu & Grauman, CVPR 2014) as it unpacks (FEEDS.md §5).

    ut-zap50k-images/<Category>/<SubCategory>/<Brand>/<product id>.<colour id>.jpg
    ut-zap50k-images-square/…          the same photos padded to squares
    ut-zap50k-data/meta-data.csv       CID, Category, SubCategory, HeelHeight, Insole, Closure,
                                       Gender, Material, ToeStyle

A photo's `CID` in meta-data.csv is its file name with a dash for the dot ("7965307.5291.jpg" →
"7965307-5291"): one shoe in one colourway, the listing's `source_id`. Several-valued cells
separate values with ";" ("Leather;Rubber"). The data set has no titles, prices or colours: a
title is composed from brand, subcategory, gender and material, and colour stays unknown. A
few CIDs sit under two subcategories; each is read once (where its metadata row says, else the
first in path order), the other places kept in `attributes["also_under"]`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.records import FeedError, FeedFormatError, ProductRecord, build_record

IMAGE_FOLDERS = ("ut-zap50k-images", "ut-zap50k-images-square")  # preferred first: the originals
META_FILE = "meta-data.csv"
CATEGORIES = ("Boots", "Sandals", "Shoes", "Slippers")
# (Category, SubCategory) → ClipShoe's category; "*" stands for any subcategory.
CATEGORY_MAP: dict[tuple[str, str], str] = {
    ("Shoes", "Oxfords"): "formal shoes",
    ("Shoes", "Loafers"): "loafers",
    ("Shoes", "Sneakers and Athletic Shoes"): "sneakers",
    ("Shoes", "Heels"): "heels",
    ("Shoes", "Flats"): "flats",
    ("Shoes", "Boat Shoes"): "casual shoes",
    ("Shoes", "Clogs and Mules"): "casual shoes",
    ("Shoes", "Crib Shoes"): "casual shoes",
    ("Shoes", "Firstwalker"): "casual shoes",
    ("Shoes", "Prewalker"): "casual shoes",
    ("Boots", "*"): "boots",
    ("Sandals", "Athletic"): "sports sandals",
    ("Sandals", "*"): "sandals",
    ("Slippers", "*"): "slippers",
}
# Gender cells list every audience a shoe is sold to: both adult ones mean unisex, as do both kids'.
_GENDERS = {"men": "men", "women": "women", "boys": "boys", "girls": "girls"}
_META_ATTRIBUTES = {
    "HeelHeight": "heel_height", "Insole": "insole", "Closure": "closure", "Material": "material",
    "ToeStyle": "toe_style",
}  # fmt: skip


def find_layout(path: Path) -> tuple[Path, Path | None] | None:
    """(the images folder whose children are the categories, meta-data.csv or None), or None."""
    path = path.resolve()
    candidates = [path] if path.name.startswith(IMAGE_FOLDERS[0]) else []
    candidates += [path / name for name in IMAGE_FOLDERS]
    # Some archives unpack into a folder of the same name: ut-zap50k-images/ut-zap50k-images/…
    candidates = [c for base in candidates for c in (base, base / base.name)]
    images = next((c for c in candidates if c.is_dir() and _has_categories(c)), None)
    if images is None:
        return None
    places = (path, path / "ut-zap50k-data", images, images.parent, images.parent / "ut-zap50k-data")
    meta = next((p / META_FILE for p in places if (p / META_FILE).is_file()), None)
    return images, meta


def read_zappos(path: Path, source: str = "zappos50k") -> Iterator[ProductRecord | FeedError]:
    """Yield one record (or FeedError) per distinct CID, in path order."""
    layout = find_layout(path)
    if layout is None:
        raise FeedFormatError(
            f"{path}: not the UT Zappos50K layout (ut-zap50k-images/<Category>/<SubCategory>/<Brand>/*.jpg)"
        )
    images, meta_file = layout
    meta = _read_meta(meta_file) if meta_file else {}
    photos: dict[str, list[Path]] = {}
    for photo in sorted(images.rglob("*.jpg")):
        photos.setdefault(photo.stem.replace(".", "-"), []).append(photo)
    for number, (cid, places) in enumerate(sorted(photos.items(), key=lambda kv: kv[1][0]), start=1):
        yield _record(number, cid, places, images, meta.get(cid, {}), source)


def _has_categories(folder: Path) -> bool:
    return any((folder / name).is_dir() for name in CATEGORIES)


def _read_meta(path: Path) -> dict[str, dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error) as exc:
        raise FeedFormatError(f"{path}: cannot read the Zappos50K metadata: {exc}") from exc
    if rows and "CID" not in rows[0]:
        raise FeedFormatError(f"{path}: not the Zappos50K metadata (no CID column)")
    return {row["CID"].strip(): row for row in rows if row.get("CID")}


def _record(
    number: int, cid: str, places: list[Path], images: Path, meta: dict[str, str], source: str
) -> ProductRecord | FeedError:
    # A CID under two subcategories is read at the one its metadata names, else the first.
    named = (meta.get("Category", "").strip(), meta.get("SubCategory", "").strip())
    places = sorted(places, key=lambda p: p.relative_to(images).parts[:2] != named)
    parts = places[0].relative_to(images).parts
    if len(parts) != 4:
        where = "/".join(parts)
        return FeedError(number, cid, f"{where}: not at <Category>/<SubCategory>/<Brand>/<CID>.jpg")
    category, subcategory, brand, _ = parts
    category = (meta.get("Category") or category).strip()
    subcategory = (meta.get("SubCategory") or subcategory).strip()
    gender_cell = (meta.get("Gender") or "").strip()
    gender = _gender(gender_cell)
    materials = _values(meta.get("Material"))
    attributes: dict[str, Any] = {
        "category_path": f"{category}/{subcategory}",
        "product_id": cid.split("-")[0],
    }
    for column, name in _META_ATTRIBUTES.items():
        if values := _values(meta.get(column)):
            attributes[name] = values
    if gender_cell:
        attributes["gender_raw"] = gender_cell
    if len(places) > 1:
        attributes["also_under"] = ["/".join(p.relative_to(images).parts[:2]) for p in places[1:]]
    title = f"{brand} {subcategory}" + (f" for {gender_cell.replace(';', ' and ')}" if gender_cell else "")
    if materials:
        title += f", {' and '.join(materials[:2]).lower()}"
    fields = {
        "source": source,
        "source_id": cid,
        "title": title,
        "brand": brand,
        "category": _category(category, subcategory),
        "gender": gender,
        "currency": "USD",
        "image": str(places[0]),
        "attributes": attributes,
    }
    return build_record(number, fields, images)


def _values(cell: str | None) -> list[str]:
    return [v.strip() for v in (cell or "").split(";") if v.strip()]


def _category(category: str, subcategory: str) -> str:
    # An unknown pair passes on the subcategory: the category tables may know it, else it is
    # kept under attributes["unmapped"] for a person to map.
    return CATEGORY_MAP.get((category, subcategory)) or CATEGORY_MAP.get((category, "*")) or subcategory


def _gender(cell: str) -> str | None:
    found = {_GENDERS[v.lower()] for v in _values(cell) if v.lower() in _GENDERS}
    if len(found) == 1:
        return found.pop()
    if found in ({"men", "women"}, {"boys", "girls"}):
        return "unisex"
    return cell or None  # anything else goes to build_record, which keeps what it cannot map
