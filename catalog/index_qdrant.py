"""QdrantClientIndex: the vector index over qdrant-client.

The same code talks to a Qdrant server (`url=`, `api_key=`) and to qdrant-client's local mode
(`":memory:"` or `path=`), which is how the tests exercise the server path on a machine without
one. Local mode is a pure-Python brute force that ignores payload indexes: right for tests, too
slow for a real catalogue (>1 s per filtered query at 100k points); embedded deployments use
EdgeIndex instead.

Names are passed to Qdrant as given: a server resolves aliases itself, atomically, which is
what makes an alias swap by another process (a backfill worker) safe for this one.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from catalog.index_base import BaseIndex, Prepared, dense_list, rrf_weights
from catalog.vector_index import (
    DENSE_VECTORS,
    LEXICAL,
    PAYLOAD_SCHEMA,
    CollectionNotFound,
    Hit,
    IndexUnavailable,
    PointData,
    PointNotFound,
    SearchFilter,
    SparseVector,
    check_name,
)

_LOCAL_NOT_FOUND = re.compile(r"Collection .* not found")


def field_index(
    key: str, kind: str, links: bool
) -> models.KeywordIndexParams | models.FloatIndexParams | models.IntegerIndexParams:
    """A payload field's index; `links`: HNSW links inside its value blocks (filtered search)."""
    if kind == "keyword":
        return models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, enable_hnsw=links)
    if kind == "float":
        return models.FloatIndexParams(type=models.FloatIndexType.FLOAT, enable_hnsw=links)
    return models.IntegerIndexParams(
        type=models.IntegerIndexType.INTEGER, lookup=True, range=links, enable_hnsw=links
    )


def qdrant_filter(flt: SearchFilter) -> models.Filter | None:
    if flt.is_empty():
        return None
    must: list[models.Condition] = [
        models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))
        for key, values in flt.keyword_conditions().items()
    ]
    if flt.price_min is not None or flt.price_max is not None:
        must.append(
            models.FieldCondition(key="price", range=models.Range(gte=flt.price_min, lte=flt.price_max))
        )
    must_not: list[models.Condition] = (
        [models.HasIdCondition(has_id=list(flt.exclude_ids))] if flt.exclude_ids else []
    )
    return models.Filter(must=must or None, must_not=must_not or None)


def _query_vector(vector: list[float] | SparseVector) -> list[float] | models.SparseVector:
    if isinstance(vector, SparseVector):
        return models.SparseVector(indices=vector.indices, values=vector.values)
    return vector


def _vectors(p: PointData) -> dict[str, Any]:
    """A point's named vectors as qdrant-client takes them: the dense ones, and the lexical one if any."""
    vector: dict[str, Any] = {k: dense_list(v) for k, v in p.vectors.items()}
    if p.sparse is not None and p.sparse.indices:
        vector[LEXICAL] = models.SparseVector(
            indices=list(p.sparse.indices), values=[float(x) for x in p.sparse.values]
        )
    return vector


def _point_data(record: models.Record, with_vectors: bool) -> PointData:
    vectors: dict[str, np.ndarray | list[float]] = {}
    sparse = None
    if with_vectors and isinstance(record.vector, dict):
        for name, value in record.vector.items():
            if isinstance(value, models.SparseVector):
                sparse = SparseVector(list(value.indices), list(value.values))
            else:
                vectors[name] = np.asarray(value, dtype=np.float32)
    return PointData(id=str(record.id), vectors=vectors, sparse=sparse, payload=dict(record.payload or {}))


class QdrantClientIndex(BaseIndex):
    """`QdrantClientIndex(":memory:")`, `QdrantClientIndex(path=...)` or `QdrantClientIndex(url=...)`."""

    def __init__(
        self,
        location: str | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: str | None = None,
        hnsw_ef: int = 128,
        filter_links: bool = True,
        timeout: int = 30,
        collection_params: dict[str, int] | None = None,
    ) -> None:
        self.hnsw_ef = hnsw_ef
        self.filter_links = filter_links
        # shard_number, replication_factor, write_consistency_factor: how a cluster spreads a
        # new collection (deploy/qdrant-cluster/); empty for a single node.
        self.collection_params = dict(collection_params or {})
        self.is_local = url is None and (location == ":memory:" or path is not None)
        self._url, self._api_key = url, api_key  # snapshot downloads go over plain HTTP
        try:
            # No version handshake at construction: it blocks start-up for seconds while a server
            # is down, and the API must start and answer 503 until Qdrant is back.
            self.client = QdrantClient(
                location=location,
                url=url,
                api_key=api_key,
                path=path,
                timeout=timeout,
                **({} if self.is_local else {"check_compatibility": False}),
            )
        except RuntimeError as e:  # local path already held by another process
            raise IndexUnavailable(str(e)) from e
        # Local mode is plain Python objects shared by API threads and in-process tasks; a
        # server client is thread-safe and must not be serialised.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.is_local else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def _call(self, name: str = "") -> Iterator[None]:
        """Map backend errors to the index's own: missing collection, missing point, unavailable."""
        try:
            with self._lock:
                yield
        except UnexpectedResponse as e:
            text = str(e.content or b"", "utf-8", "replace")
            if e.status_code == 404 and "ollection" in text:
                raise CollectionNotFound(name) from e
            if e.status_code == 404:
                raise PointNotFound(text) from e
            if e.status_code is not None and e.status_code >= 500:
                raise IndexUnavailable(text) from e
            raise
        except (ResponseHandlingException, httpx.TransportError) as e:
            raise IndexUnavailable(str(e)) from e
        except ValueError as e:
            if _LOCAL_NOT_FOUND.search(str(e)):
                raise CollectionNotFound(name) from e
            raise
        except KeyError as e:  # local mode: a point id it does not hold
            raise PointNotFound(str(e)) from e

    # -- collections and aliases ------------------------------------------------------------

    def create_collection(self, name: str, dim: int) -> None:
        check_name(name)
        if self.resolve_alias(name) is not None:
            raise ValueError(f"{name!r} is an alias")
        with self._call(name):
            if self.client.collection_exists(name):
                params = self.client.get_collection(name).config.params.vectors
                sizes = {k: v.size for k, v in params.items()} if isinstance(params, dict) else {}
                if sizes != dict.fromkeys(DENSE_VECTORS, dim):
                    raise ValueError(f"collection {name!r} exists with vectors {sizes}, not {dim}-d")
            else:
                with contextlib.suppress(UnexpectedResponse):  # 409: another worker created it first
                    self.client.create_collection(
                        name,
                        vectors_config={
                            v: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                            for v in DENSE_VECTORS
                        },
                        sparse_vectors_config={
                            LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)
                        },
                        **self.collection_params,  # type: ignore[arg-type]
                    )
            existing = self.client.get_collection(name).payload_schema
            with warnings.catch_warnings():
                # Local mode warns that payload indexes do nothing there; the call is for servers.
                warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
                for key, kind in PAYLOAD_SCHEMA.items():
                    if key not in existing:
                        params = field_index(key, kind, self._links(key))
                        self.client.create_payload_index(name, key, params, wait=True)

    def collection_exists(self, name: str) -> bool:
        with self._call(name):
            return self.client.collection_exists(name) or self.resolve_alias(name) is not None

    def list_collections(self) -> list[str]:
        with self._call():
            return sorted(c.name for c in self.client.get_collections().collections)

    def delete_collection(self, name: str) -> None:
        """Idempotent. Refuses an alias name: dropping the live collection by accident is an outage."""
        if self.resolve_alias(name) is not None:
            raise ValueError(f"{name!r} is an alias; delete the collection by its own name")
        with self._call(name):
            stale = [a.alias_name for a in self.client.get_aliases().aliases if a.collection_name == name]
            if stale:
                self.client.update_collection_aliases(
                    change_aliases_operations=[
                        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=a))
                        for a in stale
                    ]
                )
            self.client.delete_collection(name)

    def set_alias(self, alias: str, collection: str) -> None:
        check_name(alias)
        target = self.resolve_alias(collection) or collection
        with self._call(collection):
            if not self.client.collection_exists(target):
                raise CollectionNotFound(collection)
            if alias in self.list_collections():
                raise ValueError(f"{alias!r} is a collection name")
            ops: list[models.AliasOperations] = []
            if self.resolve_alias(alias) is not None:
                ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
            ops.append(
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=target, alias_name=alias)
                )
            )
            # One request: the server applies delete + create atomically, so readers never miss.
            self.client.update_collection_aliases(change_aliases_operations=ops)

    def resolve_alias(self, alias: str) -> str | None:
        with self._call():
            for a in self.client.get_aliases().aliases:
                if a.alias_name == alias:
                    return a.collection_name
        return None

    # -- points ---------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        if not points:
            return
        structs = [models.PointStruct(id=p.id, vector=_vectors(p), payload=dict(p.payload)) for p in points]
        with self._call(collection):
            self.client.upsert(collection, structs, wait=True)

    def set_payload(self, collection: str, point_id: str, payload: dict[str, Any]) -> None:
        with self._call(collection):
            # The server silently accepts unknown ids; check so both backends agree.
            if not self.client.retrieve(collection, [point_id], with_payload=False):
                raise PointNotFound(point_id)
            self.client.set_payload(collection, dict(payload), points=[point_id], wait=True)

    def update_vectors(self, collection: str, points: Sequence[PointData]) -> None:
        if not points:
            return
        structs = [models.PointVectors(id=p.id, vector=_vectors(p)) for p in points]
        with self._call(collection):
            # As set_payload: check the ids first so both backends fail the same way.
            found = self.client.retrieve(collection, [p.id for p in points], with_payload=False)
            missing = {p.id for p in points} - {str(r.id) for r in found}
            if missing:
                raise PointNotFound(f"no point with id {sorted(missing)}")
            self.client.update_vectors(collection, structs, wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            with self._call(collection):
                self.client.delete(collection, models.PointIdsList(points=list(ids)), wait=True)

    def retrieve(self, collection: str, ids: Sequence[str], with_vectors: bool = False) -> list[PointData]:
        if not ids:
            return []
        with self._call(collection):
            records = self.client.retrieve(
                collection, list(ids), with_payload=True, with_vectors=with_vectors
            )
        found = {str(r.id): _point_data(r, with_vectors) for r in records}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def count(self, collection: str, flt: SearchFilter | None = None) -> int:
        with self._call(collection):
            return self.client.count(
                collection, count_filter=qdrant_filter(flt or SearchFilter()), exact=True
            ).count

    def scroll_ids(self, collection: str, batch: int = 1000) -> Iterator[str]:
        offset: Any = None
        while True:
            with self._call(collection):
                records, offset = self.client.scroll(
                    collection, limit=batch, offset=offset, with_payload=False, with_vectors=False
                )
            yield from (str(r.id) for r in records)
            if offset is None:
                return

    def facet(
        self, collection: str, key: str, flt: SearchFilter | None = None, limit: int = 50
    ) -> dict[str, int]:
        with self._call(collection):
            response = self.client.facet(
                collection, key, facet_filter=qdrant_filter(flt or SearchFilter()), limit=limit, exact=True
            )
        # a value every point has lost can linger in the payload index with a count of 0
        return {str(h.value): h.count for h in response.hits if h.count}

    def indexed_fields(self, collection: str) -> dict[str, str]:
        with self._call(collection):
            schema = self.client.get_collection(collection).payload_schema
        return {k: str(getattr(v.data_type, "value", v.data_type)) for k, v in schema.items()}

    # -- search ---------------------------------------------------------------------------

    def _params(self, exact: bool) -> models.SearchParams | None:
        # Local mode is always exact and warns on every query that gets search params.
        return None if self.is_local else models.SearchParams(hnsw_ef=self.hnsw_ef, exact=exact)

    def _hits(self, points: list[models.ScoredPoint]) -> list[Hit]:
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in points]

    def _nearest(
        self, collection: str, query: Prepared, flt: SearchFilter, limit: int, offset: int, exact: bool
    ) -> list[Hit]:
        with self._call(collection):
            response = self.client.query_points(
                collection,
                query=_query_vector(query.vector),
                using=query.using,
                query_filter=qdrant_filter(flt),
                search_params=self._params(exact),
                limit=limit,
                offset=offset,
                with_payload=True,
            )
        return self._hits(response.points)

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
        # The filter goes inside every prefetch: filtering after fusion would let unfiltered
        # candidates crowd the fused list and return fewer than `limit` hits.
        prefetch = [
            models.Prefetch(
                query=_query_vector(q.vector),
                using=q.using,
                filter=qdrant_filter(q.filter_with(flt)),
                params=self._params(exact),
                limit=prefetch,
            )
            for q in queries
        ]
        # RrfQuery rather than FusionQuery(fusion=RRF): the latter fixes k at the server default
        # and takes no weights.
        fusion = models.RrfQuery(rrf=models.Rrf(k=rrf_k, weights=rrf_weights(queries)))
        with self._call(collection):
            response = self.client.query_points(
                collection, prefetch=prefetch, query=fusion, limit=limit, offset=offset, with_payload=True
            )
        return self._hits(response.points)

    # -- maintenance ----------------------------------------------------------------------

    def optimize(self, collection: str, timeout_s: float = 600.0) -> None:
        """A server indexes by itself; wait until it reports green so callers can swap safely."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._call(collection):
                status = self.client.get_collection(collection).status
            if status == models.CollectionStatus.GREEN:
                return
            time.sleep(0.5)

    # -- backups (a server's snapshots API; local mode has none: copy its folder instead) -------

    def snapshot(self, collection: str, folder: Path) -> Path:
        """Snapshot one collection on the server, download it to `folder`, drop it from the server."""
        if self._url is None:
            raise NotImplementedError("qdrant-client local mode has no snapshots: copy its folder instead")
        with self._call(collection):
            snap = self.client.create_snapshot(collection, wait=True)
        assert snap is not None
        dest = folder / f"{collection}.snapshot"
        url = f"{self._url.rstrip('/')}/collections/{collection}/snapshots/{snap.name}"
        headers = {"api-key": self._api_key} if self._api_key else {}
        try:
            # Streamed: a snapshot holds every vector and can be far larger than memory. No limit on
            # the whole download, but a server that stops answering ends it.
            timeout = httpx.Timeout(None, connect=10, read=300)
            with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
                response.raise_for_status()
                with open(dest, "wb") as f:
                    for chunk in response.iter_bytes(1 << 20):
                        f.write(chunk)
        finally:
            with self._call(collection):
                self.client.delete_snapshot(collection, snap.name, wait=True)
        return dest

    def restore_snapshot(self, collection: str, file: Path) -> None:
        """Upload a snapshot; the server (re)creates the collection from it, replacing its data."""
        if self._url is None:
            raise NotImplementedError("qdrant-client local mode has no snapshots: copy its folder instead")
        with self._call(collection), open(file, "rb") as f:
            self.client.http.snapshots_api.recover_from_uploaded_snapshot(
                collection, wait=True, priority=models.SnapshotPriority.SNAPSHOT, snapshot=f
            )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> QdrantClientIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
