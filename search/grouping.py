"""Near-duplicate grouping: the same shoe listed by many sellers is shown once.

At ingest, each embedded product joins the group of an existing listing of the same brand
whose photo is byte-identical or whose photo vector is within `threshold` cosine; otherwise it
starts its own group. A group is named by a point id: an indexed group keeps its name, and
within a batch the smallest id wins, so the outcome does not depend on the order of a batch.
"""

from __future__ import annotations

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
    batch_ids = tuple(group)

    def merge(ga: str, gb: str, keep: str) -> None:
        for pid, g in group.items():
            if g in (ga, gb):
                group[pid] = keep

    # Within the batch: identical photo bytes, or near-identical photo vectors, same brand.
    vec = {pt.id: np.asarray(pt.vectors["image"]) for pt in points if "image" in pt.vectors}
    for i, a in enumerate(products):
        for b in products[i + 1 :]:
            if (a.brand or "").lower() != (b.brand or "").lower():
                continue
            same_photo = a.image_sha256 is not None and a.image_sha256 == b.image_sha256
            near = (
                a.point_id in vec
                and b.point_id in vec
                and float(vec[a.point_id] @ vec[b.point_id]) >= threshold
            )
            if same_photo or near:
                ga, gb = group[a.point_id], group[b.point_id]
                merge(ga, gb, min(ga, gb))
    # Against what is already indexed: the nearest photo of the same brand.
    for p in products:
        if p.point_id not in vec:
            continue
        flt = SearchFilter(brand=((p.brand or "").lower(),) if p.brand else (), exclude_ids=batch_ids)
        try:
            hits = index.search(collection, [VectorQuery("image", vec[p.point_id])], flt, limit=1)
        except CollectionNotFound:
            hits = []
        if hits and hits[0].score >= threshold:
            # An indexed group keeps its name: its other members are not rewritten.
            existing = str(hits[0].payload.get("group") or hits[0].id)
            merge(group[p.point_id], existing, existing)
    return group
