"""What both backends share: query preparation and the search plan.

Backends only translate a prepared plan (plain nearest search, or filtered prefetches fused by
RRF) into their own request objects, so the semantics live here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from catalog.vector_index import (
    DENSE_VECTORS,
    GRAPH_FIELDS,
    SPARSE_VECTORS,
    Hit,
    PointData,
    PointNotFound,
    SearchFilter,
    SparseVector,
    VectorQuery,
)

# Each prefetch fetches several times the page it feeds, so fusion sees enough candidates
# from every list; 100 keeps short pages from starving RRF.
MIN_PREFETCH = 100
PREFETCH_FACTOR = 4
# Hits fetched past the end of a page: the engine orders equal scores arbitrarily (RRF sums tie
# whenever two products swap ranks between lists; duplicate listings tie in every list), so the
# same query could return a different page each time. Ties are ordered by id here instead, over
# a window that reaches past the page's edge.
TIE_MARGIN = 10


def prefetch_limit(limit: int, offset: int) -> int:
    return max(MIN_PREFETCH, (offset + limit) * PREFETCH_FACTOR)


@dataclass(frozen=True)
class Prepared:
    """A query ready for a backend: a non-empty dense list or sparse vector."""

    using: str
    vector: list[float] | SparseVector
    weight: float
    filter: SearchFilter | None = None  # this query's own extra conditions (see VectorQuery)

    def filter_with(self, flt: SearchFilter) -> SearchFilter:
        return flt.merged(self.filter)


def dense_list(vector: np.ndarray | list[float]) -> list[float]:
    return np.asarray(vector, dtype=np.float32).ravel().tolist()


def _prepared(using: str, vector: object, weight: float, flt: SearchFilter | None = None) -> Prepared | None:
    """None for an empty vector: the caller skips it (e.g. a text query with no lexical terms)."""
    if vector is None:
        return None
    if using in SPARSE_VECTORS:
        if not isinstance(vector, SparseVector):
            raise TypeError(f"query on {using!r} needs a SparseVector")
        if not vector.indices:
            return None
        return Prepared(
            using,
            SparseVector([int(i) for i in vector.indices], [float(v) for v in vector.values]),
            weight,
            flt,
        )
    if isinstance(vector, SparseVector):
        raise TypeError(f"query on dense vector {using!r} got a SparseVector")
    dense = dense_list(vector)  # type: ignore[arg-type]
    # A zero vector has no cosine direction: treat it as "no query" rather than rank noise.
    if not dense or not any(dense):
        return None
    return Prepared(using, dense, weight, flt)


class BaseIndex(ABC):
    """Template for backends: `search` here, `_nearest` and `_fused` in each backend."""

    filter_links: bool = True  # set by each backend from `qdrant.filter_links`

    def _links(self, key: str) -> bool:
        """Whether a new collection's payload index on `key` gets HNSW links in its blocks."""
        return self.filter_links and key in GRAPH_FIELDS

    @abstractmethod
    def retrieve(
        self, collection: str, ids: Sequence[str], with_vectors: bool = False
    ) -> list[PointData]: ...

    @abstractmethod
    def _nearest(
        self, collection: str, query: Prepared, flt: SearchFilter, limit: int, offset: int, exact: bool
    ) -> list[Hit]: ...

    @abstractmethod
    def _fused(
        self,
        collection: str,
        queries: list[Prepared],
        flt: SearchFilter,
        limit: int,
        offset: int,
        rrf_k: int,
        exact: bool,
        prefetch: int,
    ) -> list[Hit]:
        """`prefetch`: candidates per query, fused into the first `limit` hits after `offset`."""

    def search(
        self,
        collection: str,
        queries: Sequence[VectorQuery],
        flt: SearchFilter | None = None,
        limit: int = 10,
        offset: int = 0,
        rrf_k: int = 60,
        *,
        exact: bool = False,
    ) -> list[Hit]:
        if limit <= 0:
            return []
        prepared, flt = self._prepare(collection, queries, flt or SearchFilter())
        if not prepared:
            return []
        window = offset + limit + TIE_MARGIN
        if len(prepared) == 1:
            hits = self._nearest(collection, prepared[0], prepared[0].filter_with(flt), window, 0, exact)
        else:
            prefetch = prefetch_limit(limit, offset)
            hits = self._fused(collection, prepared, flt, window, 0, rrf_k, exact, prefetch)
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[offset : offset + limit]

    def _prepare(
        self, collection: str, queries: Sequence[VectorQuery], flt: SearchFilter
    ) -> tuple[list[Prepared], SearchFilter]:
        """Validate, drop empty queries, and turn point_id queries into their stored vectors.

        The point a "more like this" query starts from is excluded from its own results: it
        would otherwise always rank first. Resolving here, rather than passing the id to the
        backend, gives both backends identical semantics.
        """
        for q in queries:
            if q.using not in DENSE_VECTORS + SPARSE_VECTORS:
                raise ValueError(f"unknown vector {q.using!r}")
            if q.vector is not None and q.point_id is not None:
                raise ValueError("a VectorQuery takes a vector or a point_id, not both")
        by_id = {q.point_id for q in queries if q.point_id is not None}
        stored: dict[str, PointData] = {}
        if by_id:
            stored = {p.id: p for p in self.retrieve(collection, sorted(by_id), with_vectors=True)}
            missing = by_id - stored.keys()
            if missing:
                raise PointNotFound(f"points not in {collection!r}: {sorted(missing)}")
        out: list[Prepared] = []
        for q in queries:
            vector: object = q.vector
            if q.point_id is not None:
                p = stored[q.point_id]
                vector = p.sparse if q.using in SPARSE_VECTORS else p.vectors.get(q.using)
            prep = _prepared(q.using, vector, q.weight, q.filter)
            if prep is not None:
                out.append(prep)
        return out, flt.with_excluded(sorted(by_id))


def rrf_weights(queries: list[Prepared]) -> list[float] | None:
    """None when all weights are 1, so plain RRF requests stay plain (older servers, fewer knobs)."""
    weights = [q.weight for q in queries]
    return None if all(w == 1.0 for w in weights) else weights
