"""Build the benchmark's query sets from a catalogue's fixed test split.

    python -m clipshoe.cli eval build-queries --catalog styles.csv --split test --out DIR

writes DIR/styles.csv (the split's products, same layout, photo paths relative to it) and:

titles.jsonl                 a listing's title → that listing (and any with the same title)
attributes_en.jsonl          type + colour + audience, worded unlike titles → every such product
attributes_vi.jsonl          the same intents in Vietnamese, with diacritics
attributes_vi_nodiac.jsonl   the same, diacritics folded (how many people type)
filtered.jsonl               attribute queries + a brand, price or gender filter
photos.jsonl                 a product's photo → other products of its type and colour

Everything is a function of the catalogue and the seed, so a set can be rebuilt, not stored.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from encoder.evaluation.phrasing import EN_FORMS, VI_FORMS, phrase_en, phrase_vi, pick_forms
from encoder.evaluation.query_file import Query, write_queries
from encoder.training.split import Split, assign_splits
from ingest.feeds import read_feed
from ingest.normalise import fold_diacritics, normalise_text
from ingest.records import ProductRecord

MIN_GROUP = 2  # an attribute intent needs at least two answers, or it is a title query in disguise
PHRASINGS_PER_INTENT = 2
Combo = tuple[str, str, str]  # (category, colour, gender)


def photo_sha256(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def split_records(catalog: Path, split: Split) -> list[ProductRecord]:
    """The catalogue's readable products in `split` (the split every trainer uses)."""
    records = [r for r in read_feed(catalog) if isinstance(r, ProductRecord)]
    splits = assign_splits((r.source_id, photo_sha256(r.image)) for r in records)
    return [r for r in records if splits[r.source_id] == split]


def write_subset(catalog: Path, ids: set[str], out_csv: Path) -> int:
    """Rows of a styles.csv whose id is in `ids`, photo paths rewritten relative to `out_csv`."""
    catalog = catalog / "styles.csv" if catalog.is_dir() else catalog
    src_dir, dst_dir = catalog.resolve().parent, out_csv.resolve().parent
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with catalog.open(encoding="utf-8-sig", newline="") as src, out_csv.open("w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for row in reader:
            if row.get("id", "").strip() not in ids:
                continue
            for column in ("image", "image_225x300"):
                value = (row.get(column) or "").strip()
                if value and not value.startswith(("http://", "https://")):
                    row[column] = os.path.relpath((src_dir / value).resolve(), dst_dir)
            writer.writerow(row)
            n += 1
    return n


def title_queries(records: list[ProductRecord]) -> list[Query]:
    by_title: dict[str, list[str]] = defaultdict(list)
    for r in records:
        by_title[normalise_text(r.title)].append(r.source_id)
    return [Query(id=f"title-{ids[0]}", text=t, relevant=tuple(ids)) for t, ids in by_title.items()]


def intents(records: list[ProductRecord]) -> dict[Combo, list[ProductRecord]]:
    """(category, colour, gender) groups with at least MIN_GROUP products, in a fixed order."""
    groups: dict[Combo, list[ProductRecord]] = defaultdict(list)
    for r in records:
        if r.category and r.colour and r.gender:
            groups[(r.category, r.colour, r.gender)].append(r)
    return {k: groups[k] for k in sorted(groups) if len(groups[k]) >= MIN_GROUP}


def _slug(combo: Combo) -> str:
    return "-".join(part.replace(" ", "_") for part in combo)


def attribute_queries(groups: dict[Combo, list[ProductRecord]], seed: int) -> dict[str, list[Query]]:
    rng = random.Random(seed)
    en: list[Query] = []
    vi: list[Query] = []
    for combo, members in groups.items():
        relevant = tuple(r.source_id for r in members)
        for form in pick_forms(rng, len(EN_FORMS), PHRASINGS_PER_INTENT):
            text = phrase_en(*combo, rng=rng, form=form)
            en.append(Query(id=f"en-{_slug(combo)}-{form}", text=text, relevant=relevant))
        for form in pick_forms(rng, len(VI_FORMS), PHRASINGS_PER_INTENT):
            text = phrase_vi(*combo, rng=rng, form=form)
            vi.append(Query(id=f"vi-{_slug(combo)}-{form}", text=text, relevant=relevant))
    folded = [Query(id=f"{q.id}-nodiac", text=fold_diacritics(q.text or ""), relevant=q.relevant) for q in vi]
    return {"attributes_en": en, "attributes_vi": vi, "attributes_vi_nodiac": folded}


def filtered_queries(groups: dict[Combo, list[ProductRecord]], seed: int) -> list[Query]:
    """Per intent: a brand filter, a price cap or floor, and a gender filter (text without it)."""
    rng = random.Random(seed + 1)
    out: list[Query] = []
    for combo, members in groups.items():
        slug, form = _slug(combo), rng.randrange(len(EN_FORMS))
        text = phrase_en(*combo, rng=rng, form=form)
        brands = sorted({r.brand for r in members if r.brand})
        if brands:
            # The commonest brand of the intent (ties by name): a filter that keeps some answers.
            brand = max(brands, key=lambda b: (sum(r.brand == b for r in members), b))
            rel = [r.source_id for r in members if r.brand == brand]
            out.append(Query(id=f"brand-{slug}", text=text, filters={"brand": [brand]}, relevant=tuple(rel)))
        prices = [r.price for r in members if r.price is not None]
        if len(prices) >= MIN_GROUP:
            median = float(statistics.median(prices))
            key = rng.choice(("price_max", "price_min"))
            rel = [
                r.source_id
                for r in members
                if r.price is not None and (r.price <= median if key == "price_max" else r.price >= median)
            ]
            out.append(Query(id=f"price-{slug}", text=text, filters={key: median}, relevant=tuple(rel)))
        bare = phrase_en(combo[0], combo[1], None, rng=rng, form=form)
        out.append(
            Query(
                id=f"gender-{slug}",
                text=bare,
                filters={"gender": [combo[2]]},
                relevant=tuple(r.source_id for r in members),
            )
        )
    return out


def photo_queries(records: list[ProductRecord]) -> list[Query]:
    """Photo → other products of the same type and colour; the photo's own listing is excluded."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        if r.category and r.colour:
            groups[(r.category, r.colour)].append(r.source_id)
    out: list[Query] = []
    for r in records:
        if not (r.image and Path(r.image).is_file() and r.category and r.colour):
            continue
        others = tuple(pid for pid in groups[(r.category, r.colour)] if pid != r.source_id)
        if others:
            out.append(
                Query(id=f"photo-{r.source_id}", image=Path(r.image), relevant=others, exclude=(r.source_id,))
            )
    return out


def build_query_sets(catalog: Path, out: Path, split: Split = "test", seed: int = 0) -> dict[str, int]:
    """Write the split's catalogue and every query set under `out`; returns counts per file."""
    records = split_records(catalog, split)
    if not records:
        raise ValueError(f"{catalog}: no readable products in the {split} split")
    out.mkdir(parents=True, exist_ok=True)
    counts = {"styles.csv": write_subset(catalog, {r.source_id for r in records}, out / "styles.csv")}
    groups = intents(records)
    sets: dict[str, Iterable[Query]] = {
        "titles": title_queries(records),
        **attribute_queries(groups, seed),
        "filtered": filtered_queries(groups, seed),
        "photos": photo_queries(records),
    }
    for name, queries in sets.items():
        counts[f"{name}.jsonl"] = write_queries(out / f"{name}.jsonl", queries)
    manifest = {"catalog": str(catalog.resolve()), "split": split, "seed": seed, "files": counts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return counts
