"""Facet counts for the current filters: what the shopper can narrow down to next.

Each facet is counted with every filter except its own (disjunctive faceting): with brand=Nike
selected, the brand facet still shows how many Puma shoes the other filters allow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from catalog.vector_index import CollectionNotFound, SearchFilter, VectorIndex

FACET_KEYS = ("brand", "category", "gender", "colour")

# Price bucket edges per currency: steps a shopper thinks in (₹1,000s; VND in hundreds of
# thousands and millions). The last bucket is open-ended.
PRICE_EDGES: dict[str, tuple[float, ...]] = {
    "INR": (0, 500, 1000, 2000, 3000, 5000, 8000, 12000),
    "VND": (0, 200_000, 500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000),
    "USD": (0, 25, 50, 100, 150, 250, 500),
}


@dataclass
class PriceBucket:
    min: float
    max: float | None  # None: and above
    count: int


@dataclass
class Facets:
    values: dict[str, dict[str, int]]
    price: list[PriceBucket]


def facets(index: VectorIndex, collection: str, flt: SearchFilter, currency: str, limit: int = 50) -> Facets:
    try:
        values = {
            key: index.facet(collection, key, replace(flt, **{key: ()}), limit=limit) for key in FACET_KEYS
        }
        unpriced = replace(flt, price_min=None, price_max=None)
        edges = PRICE_EDGES.get(currency, PRICE_EDGES["VND"])
        buckets = []
        for lo, hi in zip(edges, (*edges[1:], None), strict=True):
            # Ranges are inclusive at both ends in the index; nudge the top down so a price on
            # an edge counts once, in the bucket it starts.
            top = None if hi is None else hi - 1e-6
            n = index.count(collection, replace(unpriced, price_min=lo, price_max=top))
            buckets.append(PriceBucket(min=lo, max=hi, count=n))
    except CollectionNotFound:
        return Facets({k: {} for k in FACET_KEYS}, [])
    return Facets(values, buckets)
