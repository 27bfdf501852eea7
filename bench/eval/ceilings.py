"""What the title and photo targets ask of a model: scores of "attribute oracles".

    python bench/eval/ceilings.py --catalog ../shared/data/myntra-footwear/styles.csv --split test

Title → photo: an oracle that knows some of each product's attributes (say type, colour and
gender) but nothing finer ranks every product sharing the query product's attributes first, in
random order. Its expected mrr@10 and acc@10 show how much of a target that knowledge alone
reaches, and so what else the photo must reveal (the brand, usually). Photo → same type and
colour: a perfect ranking (scored by the eval's own `query_metrics`) gets p@10 below 1, because
many groups have fewer than ten other photos. Uses the query sets exactly as `clipshoe eval
build-queries` writes them; prints JSON.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import typer

from encoder.evaluation.metrics import query_metrics
from encoder.evaluation.queries import photo_queries, split_records, title_queries

ORACLES = {
    "type+colour+gender": ("category", "colour", "gender"),
    "brand+type+gender": ("brand", "category", "gender"),
    "brand+colour+gender": ("brand", "colour", "gender"),
    "brand+type+colour+gender": ("brand", "category", "colour", "gender"),
}


def expected_hits(k: int, m: int, cutoff: int = 10) -> tuple[float, float]:
    """(E[reciprocal rank@cutoff], P[hit@cutoff]) of the first of m relevant items among k shuffled."""
    total = math.comb(k, m)
    first = [math.comb(k - p, m - 1) / total for p in range(1, min(cutoff, k - m + 1) + 1)]
    return sum(p / rank for rank, p in enumerate(first, 1)), sum(first)


def main(catalog: Path = typer.Option(..., exists=True), split: str = "test") -> None:
    records = split_records(catalog, split)  # type: ignore[arg-type]
    titles = title_queries(records)
    out: dict[str, dict[str, float]] = {}
    for name, keys in ORACLES.items():
        label = {r.source_id: tuple(getattr(r, k) for k in keys) for r in records}
        sizes = Counter(label.values())
        rr = hit = 0.0
        for query in titles:
            group = label[query.relevant[0]]
            m = sum(label[pid] == group for pid in query.relevant)
            e_rr, e_hit = expected_hits(sizes[group], m)
            rr, hit = rr + e_rr, hit + e_hit
        out[f"titles, {name} oracle"] = {"mrr@10": rr / len(titles), "acc@10": hit / len(titles)}
    photos = photo_queries(records)
    perfect = [query_metrics(q.relevant, q.relevant, q.exclude)["p@10"] for q in photos]
    out["photos, perfect ranking"] = {"p@10": sum(perfect) / len(photos)}
    counts = {"products": len(records), "title queries": len(titles), "photo queries": len(photos)}
    print(json.dumps({"split": split, **counts, "ceilings": out}, indent=2))


if __name__ == "__main__":
    typer.run(main)
