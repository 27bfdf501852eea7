"""Why a hit matched: the per-signal scores behind a fused rank, in words a shopper can read.

RRF fuses ranks, not scores, so the fused score alone says little. For the hits actually
returned (a page, not the whole ranking), the stored vectors are fetched once and scored
against the query; the lexical side reports which query words the listing contains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from catalog.models import Product
from catalog.vector_index import CollectionNotFound, VectorIndex
from search import lexical
from search.indexing import lexical_text


@dataclass
class Explanation:
    photo: float | None = None  # cosine of the query with the product photo
    title: float | None = None  # cosine of the query with the product title
    words: list[str] = field(default_factory=list)  # query words the listing contains (folded)


def explain(
    index: VectorIndex,
    collection: str,
    products: Sequence[Product],
    query_text: str | None,
    text_vector: np.ndarray | None,
    image_vector: np.ndarray | None,
) -> list[Explanation]:
    out = [Explanation() for _ in products]
    if text_vector is not None or image_vector is not None:
        try:
            points = {
                p.id: p for p in index.retrieve(collection, [p.point_id for p in products], with_vectors=True)
            }
        except CollectionNotFound:
            points = {}
        for e, p in zip(out, products, strict=True):
            vectors = points[p.point_id].vectors if p.point_id in points else {}
            q = image_vector if image_vector is not None else text_vector
            if "image" in vectors and q is not None:
                e.photo = round(float(np.dot(np.asarray(vectors["image"]), q)), 4)
            if "text" in vectors and text_vector is not None:
                e.title = round(float(np.dot(np.asarray(vectors["text"]), text_vector)), 4)
    if query_text:
        words = [t for t in dict.fromkeys(lexical.tokenize(query_text)) if "_" not in t]
        for e, p in zip(out, products, strict=True):
            have = set(lexical.tokenize(lexical_text(p)))
            e.words = [w for w in words if w in have]
    return out
