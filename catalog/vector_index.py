"""ClipShoe's vector index: the few operations search needs, over two backends.

One product is one point; its id is derived from (source, source product id) so that re-ingesting
a listing overwrites it. Every point carries the named dense vectors `image` and `text` (cosine)
and the sparse vector `lexical` (BM25-style weights computed by the caller; the backend applies
IDF). Each model version gets its own collection; an alias names the live one, so a backfill into
a new collection goes live with one atomic swap.

Backends (see `open_index`):
- `catalog.index_edge.EdgeIndex`: Qdrant's own engine embedded in the process (qdrant-edge-py).
- `catalog.index_qdrant.QdrantClientIndex`: qdrant-client, i.e. a Qdrant server, or the client's
  pure-Python local mode (fine for tests, too slow past ~20k points).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from clipshoe.settings import Settings

# Fixed forever: changing it would re-key every point in every collection.
PROJECT_NAMESPACE = uuid.UUID("5f0c3a52-9d4e-4c61-a7b8-2f1e6d9c0b37")

IMAGE, TEXT, LEXICAL = "image", "text", "lexical"
DENSE_VECTORS = (IMAGE, TEXT)
SPARSE_VECTORS = (LEXICAL,)

# Payload holds only what filtering needs; each field is indexed when the collection is created,
# before loading, because Qdrant's filtered HNSW search relies on these indexes.
KEYWORD_FIELDS = ("brand", "category", "gender", "colour", "source")
PAYLOAD_SCHEMA: dict[str, str] = {
    **dict.fromkeys(KEYWORD_FIELDS, "keyword"),
    "price": "float",
    "product_id": "integer",
}
# The fields shoppers filter searches by. For these Qdrant adds HNSW links within each large
# value (or price range) block, which keeps filtered search accurate. `source` and `product_id`
# are indexed for lookups only: no search filters by them, and their links would be a second
# graph over most of the catalogue (one source) and over every id range (docs/decisions.md).
# `qdrant.filter_links=false` turns the links off for every field (very large catalogues).
GRAPH_FIELDS = frozenset({"brand", "category", "gender", "colour", "price"})

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class VectorIndexError(Exception):
    """Base class of the index's own errors."""


class CollectionNotFound(VectorIndexError, LookupError):
    """The collection (or alias) does not exist."""


class PointNotFound(VectorIndexError, LookupError):
    """A point named by id does not exist in the collection."""


class IndexUnavailable(VectorIndexError):
    """The backend cannot be reached or is owned by another process (the API answers 503)."""


def point_id(source: str, source_id: str) -> str:
    """Stable point id of one product listing: uuid5 of (source, source product id)."""
    # The unit separator cannot occur in either part, so ("a", "bc") and ("ab", "c") differ.
    return str(uuid.uuid5(PROJECT_NAMESPACE, f"{source}\x1f{source_id}"))


def collection_name(prefix: str, model_version: str) -> str:
    """`{prefix}_{model_version}`, with characters a folder or Qdrant name can't hold replaced."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{prefix}_{model_version}").strip("-.")
    return check_name(name[:255])


def check_name(name: str) -> str:
    """Collection and alias names double as folder names in the embedded store: keep them plain."""
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid collection or alias name: {name!r}")
    return name


@dataclass(frozen=True)
class SearchFilter:
    """Conjunction of any-of conditions; keyword values are lowercase, as stored."""

    brand: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    gender: tuple[str, ...] = ()
    colour: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    exclude_ids: tuple[str, ...] = ()  # point ids to leave out

    def __post_init__(self) -> None:
        # Callers build filters from JSON lists; keep the dataclass hashable and immutable.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list | set | frozenset):
                object.__setattr__(self, f.name, tuple(value))

    def is_empty(self) -> bool:
        return not (
            any(getattr(self, k) for k in KEYWORD_FIELDS)
            or self.exclude_ids
            or self.price_min is not None
            or self.price_max is not None
        )

    def keyword_conditions(self) -> dict[str, tuple[str, ...]]:
        return {k: getattr(self, k) for k in KEYWORD_FIELDS if getattr(self, k)}

    def merged(self, other: SearchFilter | None) -> SearchFilter:
        """Both filters at once: keyword lists intersect, price bounds tighten, exclusions add up."""
        if other is None or other.is_empty():
            return self
        kw: dict[str, tuple[str, ...]] = {}
        for k in (*KEYWORD_FIELDS,):
            mine, theirs = getattr(self, k), getattr(other, k)
            kw[k] = tuple(v for v in mine if v in theirs) if mine and theirs else mine or theirs
            if mine and theirs and not kw[k]:
                kw[k] = ("\x00none",)  # disjoint any-of lists: nothing can match
        lo = [p for p in (self.price_min, other.price_min) if p is not None]
        hi = [p for p in (self.price_max, other.price_max) if p is not None]
        return SearchFilter(
            **kw,
            price_min=max(lo) if lo else None,
            price_max=min(hi) if hi else None,
            exclude_ids=tuple(dict.fromkeys((*self.exclude_ids, *other.exclude_ids))),
        )

    def with_excluded(self, ids: Sequence[str]) -> SearchFilter:
        if not ids:
            return self
        merged = tuple(dict.fromkeys((*self.exclude_ids, *ids)))
        return SearchFilter(
            **{**{f.name: getattr(self, f.name) for f in fields(self)}, "exclude_ids": merged}
        )

    def matches(self, pid: str, payload: dict[str, Any]) -> bool:
        """Reference semantics, in Python: what both backends must return (tests, benchmarks)."""
        if pid in self.exclude_ids:
            return False
        for key, allowed in self.keyword_conditions().items():
            if payload.get(key) not in allowed:
                return False
        if self.price_min is None and self.price_max is None:
            return True
        price = payload.get("price")
        if price is None:
            return False
        return (self.price_min is None or price >= self.price_min) and (
            self.price_max is None or price <= self.price_max
        )


@dataclass
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass
class PointData:
    id: str  # uuid string, see point_id()
    vectors: dict[str, np.ndarray | list[float]]  # subset of {"image", "text"}; "image" may be missing
    sparse: SparseVector | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class VectorQuery:
    using: str  # "image" | "text" | "lexical"
    vector: np.ndarray | list[float] | SparseVector | None = None
    point_id: str | None = None  # "more like this point": use its stored vector `using`
    weight: float = 1.0  # RRF weight when fused with other queries
    # Extra conditions for this query only, on top of the search's filter: a prefetch limited to
    # e.g. one category, fused with the unrestricted ones, boosts that category without hiding
    # the rest.
    filter: SearchFilter | None = None


@dataclass
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@runtime_checkable
class VectorIndex(Protocol):
    """What ClipShoe needs from a vector store. Anywhere a collection is named, an alias works."""

    def create_collection(self, name: str, dim: int) -> None:
        """Idempotent: named vectors, sparse vector and payload indexes."""
        ...

    def collection_exists(self, name: str) -> bool: ...
    def list_collections(self) -> list[str]: ...
    def delete_collection(self, name: str) -> None: ...
    def set_alias(self, alias: str, collection: str) -> None:
        """Atomically create the alias or switch it to `collection`."""
        ...

    def resolve_alias(self, alias: str) -> str | None: ...
    def upsert(self, collection: str, points: Sequence[PointData]) -> None: ...
    def set_payload(self, collection: str, point_id: str, payload: dict[str, Any]) -> None:
        """Merge payload keys into one point; vectors stay as they are."""
        ...

    def update_vectors(self, collection: str, points: Sequence[PointData]) -> None:
        """Replace only the vectors each point carries (e.g. `text` and the sparse `lexical` after a
        title change); its other vectors and its payload stay. Unknown ids raise PointNotFound."""
        ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...
    def retrieve(
        self, collection: str, ids: Sequence[str], with_vectors: bool = False
    ) -> list[PointData]: ...
    def count(self, collection: str, flt: SearchFilter | None = None) -> int: ...
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
        """One query: nearest search. Several: filtered prefetches fused by weighted RRF."""
        ...

    def scroll_ids(self, collection: str, batch: int = 1000) -> Iterator[str]: ...
    def facet(
        self, collection: str, key: str, flt: SearchFilter | None = None, limit: int = 50
    ) -> dict[str, int]: ...
    def indexed_fields(self, collection: str) -> dict[str, str]:
        """Payload indexes the backend reports (field -> type); qdrant-client local mode has none."""
        ...

    def optimize(self, collection: str) -> None:
        """Build HNSW after a bulk load (blocking); a server does this by itself."""
        ...

    def close(self) -> None: ...


def open_index(settings: Settings) -> VectorIndex:
    """The one place that maps settings to a backend."""
    q = settings.qdrant
    if q.url:
        from catalog.index_qdrant import QdrantClientIndex

        cluster = ("shard_number", "replication_factor", "write_consistency_factor")
        params = {k: getattr(q, k) for k in cluster if getattr(q, k) is not None}
        return QdrantClientIndex(
            url=q.url,
            api_key=q.api_key,
            hnsw_ef=q.hnsw_ef,
            filter_links=q.filter_links,
            collection_params=params,
        )
    path = str(settings.qdrant_path)
    if q.backend == "edge":
        from catalog.index_edge import EdgeIndex

        return EdgeIndex(None if path == ":memory:" else path, hnsw_ef=q.hnsw_ef, filter_links=q.filter_links)
    if q.backend == "local":
        from catalog.index_qdrant import QdrantClientIndex

        if path == ":memory:":
            return QdrantClientIndex(":memory:", hnsw_ef=q.hnsw_ef, filter_links=q.filter_links)
        return QdrantClientIndex(path=path, hnsw_ef=q.hnsw_ef, filter_links=q.filter_links)
    raise ValueError(f"unknown qdrant backend {q.backend!r}: expected 'edge' or 'local'")
