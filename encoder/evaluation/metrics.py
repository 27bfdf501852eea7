"""Ranking metrics of the evaluation contract (docs/design.md), per query and averaged.

acc@k      1 if at least one relevant product is in the top k (CLIP papers call it R@k)
recall@10  share of the query's relevant products found in the top 10
p@10       relevant share of the top 10 (a short list still divides by 10)
mrr@10     1 / rank of the first relevant product within the top 10, else 0
ndcg@10    binary gains; the ideal DCG puts min(|relevant|, 10) hits first

Excluded products are removed from the ranking before scoring, and from the relevant set
too: a product that may not be returned cannot count as missed. Pure Python and numpy, no
project imports, so benchmarks and tests can score rankings from anywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

K = 10
ACC_KS = (1, 5, 10)
METRICS: tuple[str, ...] = ("acc@1", "acc@5", "acc@10", "recall@10", "p@10", "mrr@10", "ndcg@10")

# Discount of rank r (1-based) is 1 / log2(r + 1); index 0 holds rank 1.
_DISCOUNTS = 1.0 / np.log2(np.arange(2, K + 2))


def clean_ranking(ranking: Iterable[str], exclude: Collection[str] = ()) -> list[str]:
    """The ranking with excluded ids removed and repeats dropped (first position kept).

    Two points of one catalogue id (the same listing from two sources) must not count twice.
    """
    seen: set[str] = set()
    out: list[str] = []
    for pid in ranking:
        if pid in exclude or pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
    return out


def first_hit(ranking: Sequence[str], relevant: Collection[str]) -> int | None:
    """1-based rank of the first relevant product, or None."""
    for rank, pid in enumerate(ranking, start=1):
        if pid in relevant:
            return rank
    return None


def query_metrics(
    ranking: Sequence[str], relevant: Collection[str], exclude: Collection[str] = ()
) -> dict[str, float]:
    """Every contract metric for one query. `ranking` is best first; only its top 10 counts."""
    relevant = set(relevant) - set(exclude)
    if not relevant:
        raise ValueError("a query needs at least one relevant product that is not excluded")
    top = clean_ranking(ranking, exclude)[:K]
    gains = np.array([pid in relevant for pid in top], dtype=float)
    hits = int(gains.sum())
    rank = first_hit(top, relevant)
    out = {f"acc@{k}": float(rank is not None and rank <= k) for k in ACC_KS}
    dcg = float((gains * _DISCOUNTS[: len(gains)]).sum())
    ideal = float(_DISCOUNTS[: min(len(relevant), K)].sum())
    out |= {
        "recall@10": hits / len(relevant),
        "p@10": hits / K,
        "mrr@10": 1.0 / rank if rank is not None else 0.0,
        "ndcg@10": dcg / ideal,
    }
    return out


def hit_curve(
    ranking: Sequence[str], relevant: Collection[str], exclude: Collection[str] = ()
) -> list[float]:
    """acc@k for k = 1..10 of one query (0/1 steps); averaged it gives the report's curves."""
    relevant = set(relevant) - set(exclude)
    rank = first_hit(clean_ranking(ranking, exclude)[:K], relevant)
    return [float(rank is not None and rank <= k) for k in range(1, K + 1)]


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Macro average over queries (each query weighs the same), in the contract's key order."""
    if not per_query:
        return dict.fromkeys(METRICS, 0.0)
    return {name: float(np.mean([m[name] for m in per_query])) for name in METRICS}


def mean_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    if not curves:
        return [0.0] * K
    return [float(v) for v in np.mean(np.asarray(curves, dtype=float), axis=0)]
