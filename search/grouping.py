"""Near-duplicate grouping: the same shoe listed by many sellers is shown once.

At ingest, each embedded product joins the group of an existing listing of the same brand
whose photo is byte-identical or whose photo vector is within `threshold` cosine; otherwise it
starts its own group. A group is named by a point id: an indexed group keeps its name, and
within a batch the smallest id wins, so the outcome does not depend on the order of a batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from catalog.models import Product
from catalog.vector_index import CollectionNotFound, PointData, SearchFilter, VectorIndex, VectorQuery

DEFAULT_THRESHOLD = 0.97


def assign_groups(
    index: VectorIndex,
    collection: str,
    products: Sequence[Product],
    points: Sequence[PointData],
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, str]:
    """point id → group id for a batch of products about to be upserted."""
    group = {p.point_id: p.point_id for p in products}

    def merge(ga: str, gb: str, keep: str) -> None:
        for pid, g in group.items():
            if g in (ga, gb):
                group[pid] = keep

    # Within the batch: identical photo bytes, or near-identical photo vectors, same brand.
    vec = {pt.id: np.asarray(pt.vectors["image"]) for pt in points if "image" in pt.vectors}
    of_brand: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for p in products:
        of_brand[(p.brand or "").lower()].append((p.point_id, p.image_sha256))
    for same in of_brand.values():
        for i, (a, sha_a) in enumerate(same):
            for b, sha_b in same[i + 1 :]:
                same_photo = sha_a is not None and sha_a == sha_b
                near = a in vec and b in vec and float(vec[a] @ vec[b]) >= threshold
                if same_photo or near:
                    ga, gb = group[a], group[b]
                    merge(ga, gb, min(ga, gb))
    # Against what is already indexed: the nearest photo of the same brand that is not one of the
    # batch's own points (a re-embedded product must not join its old self). They are skipped
    # here rather than excluded in the filter: an id exclusion made each search ≈ 7× slower, and
    # at most the batch's members of that brand can come first.
    for brand, same in of_brand.items():
        flt = SearchFilter(brand=(brand,) if brand else ())
        limit = 1 + (len(same) if brand else len(products))
        for pid, _ in same:
            if pid not in vec:
                continue
            try:
                hits = index.search(collection, [VectorQuery("image", vec[pid])], flt, limit=limit)
            except CollectionNotFound:
                hits = []
            nearest = next((h for h in hits if h.id not in group), None)
            if nearest is not None and nearest.score >= threshold:
                # An indexed group keeps its name: its other members are not rewritten.
                existing = str(nearest.payload.get("group") or nearest.id)
                merge(group[pid], existing, existing)
    return group
