"""The vector index contract, held against every backend (qdrant-client congruence-test style).

Each test is a function of an index; the `index` fixture runs it on EdgeIndex, on qdrant-client's
local mode in memory and on its local mode in a folder (the server code path).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from catalog.index_edge import EdgeIndex
from catalog.index_qdrant import QdrantClientIndex
from catalog.vector_index import (
    PAYLOAD_SCHEMA,
    CollectionNotFound,
    IndexUnavailable,
    PointData,
    PointNotFound,
    SearchFilter,
    SparseVector,
    VectorIndex,
    VectorQuery,
    collection_name,
    open_index,
    point_id,
)
from clipshoe.settings import QdrantSettings, Settings

DIM = 8
COLL = "products_v1"


@pytest.fixture(params=["edge", "local-memory", "local-path"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    idx: VectorIndex
    if request.param == "edge":
        idx = EdgeIndex(tmp_path / "edge")
    elif request.param == "local-memory":
        idx = QdrantClientIndex(":memory:")
    else:
        idx = QdrantClientIndex(path=str(tmp_path / "local"))
    yield idx
    idx.close()


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def make_point(i: int, rng: np.random.Generator, image: bool = True, **payload: object) -> PointData:
    vectors: dict[str, np.ndarray | list[float]] = {"text": rng.standard_normal(DIM).astype(np.float32)}
    if image:
        vectors["image"] = rng.standard_normal(DIM).astype(np.float32)
    return PointData(
        id=point_id("test", str(i)),
        vectors=vectors,
        sparse=SparseVector([i % 50, 100 + i % 7], [1.0, 0.5]),
        payload={"brand": "nike", "category": "sneakers", "price": 100.0, "product_id": i, **payload},
    )


def loaded(index: VectorIndex, points: list[PointData], name: str = COLL) -> VectorIndex:
    index.create_collection(name, DIM)
    index.upsert(name, points)
    return index


# -- ids, names, filters ------------------------------------------------------------------


def test_point_id_is_stable_uuid5() -> None:
    a = point_id("myntra", "1541")
    assert a == point_id("myntra", "1541")
    assert a != point_id("myntra", "1542")
    assert point_id("a", "bc") != point_id("ab", "c")
    assert len(a) == 36 and a[14] == "5"


def test_collection_name_sanitises_model_version() -> None:
    assert collection_name("clipshoe", "v1") == "clipshoe_v1"
    assert collection_name("clipshoe", "hf:openai/clip-vit-b-32") == "clipshoe_hf-openai-clip-vit-b-32"


def test_search_filter_basics() -> None:
    assert SearchFilter().is_empty()
    assert not SearchFilter(price_max=5).is_empty()
    assert not SearchFilter(exclude_ids=("x",)).is_empty()
    f = SearchFilter(brand=["nike"])  # type: ignore[arg-type]  # JSON lists become tuples
    assert f.brand == ("nike",) and hash(f)


# -- collections and aliases --------------------------------------------------------------


def test_create_collection_is_idempotent(index: VectorIndex) -> None:
    index.create_collection(COLL, DIM)
    index.upsert(COLL, [make_point(1, np.random.default_rng(0))])
    index.create_collection(COLL, DIM)
    assert index.list_collections() == [COLL]
    assert index.collection_exists(COLL) and not index.collection_exists("other")
    assert index.count(COLL) == 1
    with pytest.raises(ValueError):
        index.create_collection(COLL, DIM * 2)


def created_field_params(index: VectorIndex, monkeypatch: pytest.MonkeyPatch, name: str) -> dict:
    """Create a collection; the payload index parameters the backend received, by field."""
    if isinstance(index, QdrantClientIndex):
        # Local mode keeps no payload indexes; check the calls a server would receive.
        calls: dict[str, object] = {}
        monkeypatch.setattr(
            index.client, "create_payload_index", lambda c, key, schema, **kw: calls.setdefault(key, schema)
        )
        index.create_collection(name, DIM)
        assert {k: v.type.value for k, v in calls.items()} == PAYLOAD_SCHEMA  # type: ignore[attr-defined]
        return calls
    index.create_collection(name, DIM)
    assert index.indexed_fields(name) == PAYLOAD_SCHEMA
    return {k: v.params for k, v in index._shard(name)[1].info().payload_schema.items()}  # type: ignore[attr-defined]


def test_payload_indexes_created_before_loading(index: VectorIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every payload field is indexed; HNSW filter links only for the fields searches filter by
    (links for `source` and `product_id` would be whole extra graphs that no query uses)."""
    params = created_field_params(index, monkeypatch, COLL)
    links = {k for k, v in params.items() if v.enable_hnsw}
    assert links == {"brand", "category", "gender", "colour", "price"}
    assert params["product_id"].lookup and not params["product_id"].range
    assert index.count(COLL) == 0


def test_filter_links_off_indexes_every_field_without_links(
    index: VectorIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qdrant.filter_links=false` (very large catalogues): same indexes, no per-block graphs."""
    index.filter_links = False  # type: ignore[attr-defined]
    params = created_field_params(index, monkeypatch, COLL)
    assert not any(v.enable_hnsw for v in params.values())
    rng = np.random.default_rng(0)
    index.upsert(COLL, [make_point(1, rng), make_point(2, rng, brand="puma")])
    hits = index.search(COLL, [VectorQuery("text", [1.0] * DIM)], SearchFilter(brand=("puma",)))
    assert [h.id for h in hits] == [point_id("test", "2")]


def test_missing_collection_raises(index: VectorIndex) -> None:
    q = [VectorQuery("text", [1.0] * DIM)]
    for call in (
        lambda: index.count("nope"),
        lambda: index.search("nope", q),
        lambda: index.upsert("nope", [make_point(1, np.random.default_rng(0))]),
        lambda: index.retrieve("nope", [point_id("t", "1")]),
        lambda: index.set_alias("live", "nope"),
    ):
        with pytest.raises(CollectionNotFound):
            call()
    index.delete_collection("nope")  # idempotent


def test_alias_create_switch_resolve(index: VectorIndex) -> None:
    rng = np.random.default_rng(1)
    old, new = make_point(1, rng), make_point(2, rng)
    loaded(index, [old], "products_v1")
    loaded(index, [new], "products_v2")
    assert index.resolve_alias("live") is None
    index.set_alias("live", "products_v1")
    assert index.resolve_alias("live") == "products_v1"
    assert index.collection_exists("live")
    assert [h.id for h in index.search("live", [VectorQuery("text", old.vectors["text"])])] == [old.id]
    index.set_alias("live", "products_v2")
    assert index.resolve_alias("live") == "products_v2"
    assert [h.id for h in index.search("live", [VectorQuery("text", old.vectors["text"])])] == [new.id]
    assert index.count("live") == 1 and index.list_collections() == ["products_v1", "products_v2"]
    with pytest.raises(ValueError):
        index.delete_collection("live")  # by alias: refused, it would drop the live collection
    with pytest.raises(ValueError):
        index.set_alias("products_v1", "products_v2")  # an alias can't shadow a collection
    index.delete_collection("products_v2")
    assert index.resolve_alias("live") is None
    assert index.list_collections() == ["products_v1"]


# -- points -------------------------------------------------------------------------------


def test_upsert_retrieve_round_trip(index: VectorIndex) -> None:
    rng = np.random.default_rng(2)
    points = [make_point(i, rng, colour="black") for i in range(5)]
    loaded(index, points)
    ids = [p.id for p in points]
    got = index.retrieve(COLL, [ids[3], ids[0], point_id("test", "missing")], with_vectors=True)
    assert [p.id for p in got] == [ids[3], ids[0]]
    for g, p in zip(got, [points[3], points[0]], strict=True):
        assert g.payload == p.payload
        assert set(g.vectors) == {"image", "text"}
        for name, v in p.vectors.items():  # cosine: the store keeps unit vectors
            np.testing.assert_allclose(g.vectors[name], unit(np.asarray(v)), atol=1e-5)
        assert g.sparse == p.sparse
    assert index.retrieve(COLL, [ids[1]])[0].vectors == {}

    again = make_point(3, rng, brand="puma")
    index.upsert(COLL, [again])
    assert index.count(COLL) == 5
    (g,) = index.retrieve(COLL, [again.id], with_vectors=True)
    assert g.payload["brand"] == "puma"
    np.testing.assert_allclose(g.vectors["text"], unit(np.asarray(again.vectors["text"])), atol=1e-5)


def test_point_without_image_vector(index: VectorIndex) -> None:
    rng = np.random.default_rng(3)
    with_img, no_img = make_point(1, rng), make_point(2, rng, image=False)
    loaded(index, [with_img, no_img])
    assert set(index.retrieve(COLL, [no_img.id], with_vectors=True)[0].vectors) == {"text"}
    by_text = index.search(COLL, [VectorQuery("text", no_img.vectors["text"])], limit=5)
    assert by_text[0].id == no_img.id
    by_image = index.search(COLL, [VectorQuery("image", rng.standard_normal(DIM))], limit=5)
    assert [h.id for h in by_image] == [with_img.id]


def test_set_payload_changes_filtering_not_vectors(index: VectorIndex) -> None:
    rng = np.random.default_rng(4)
    points = [make_point(i, rng) for i in range(4)]
    loaded(index, points)
    before = index.retrieve(COLL, [points[0].id], with_vectors=True)[0]
    cheap = SearchFilter(price_max=50.0)
    assert index.count(COLL, cheap) == 0
    index.set_payload(COLL, points[0].id, {"price": 20.0})
    after = index.retrieve(COLL, [points[0].id], with_vectors=True)[0]
    assert after.payload == {**points[0].payload, "price": 20.0}  # merged, not replaced
    for name in before.vectors:
        np.testing.assert_array_equal(after.vectors[name], before.vectors[name])
    assert after.sparse == before.sparse
    q = [VectorQuery("text", rng.standard_normal(DIM))]
    assert [h.id for h in index.search(COLL, q, cheap)] == [points[0].id]
    with pytest.raises(PointNotFound):
        index.set_payload(COLL, point_id("test", "missing"), {"price": 1.0})


def test_delete_points(index: VectorIndex) -> None:
    rng = np.random.default_rng(5)
    points = [make_point(i, rng) for i in range(6)]
    loaded(index, points)
    index.delete(COLL, [points[0].id, points[1].id])
    assert index.count(COLL) == 4
    assert index.retrieve(COLL, [points[0].id]) == []
    hits = index.search(COLL, [VectorQuery("text", points[0].vectors["text"])], limit=10)
    assert points[0].id not in {h.id for h in hits} and len(hits) == 4


def test_scroll_ids_visits_every_point(index: VectorIndex) -> None:
    rng = np.random.default_rng(6)
    points = [make_point(i, rng) for i in range(23)]
    loaded(index, points)
    ids = list(index.scroll_ids(COLL, batch=5))
    assert sorted(ids) == sorted(p.id for p in points)


def test_facet_counts(index: VectorIndex) -> None:
    rng = np.random.default_rng(7)
    brands = ["nike"] * 5 + ["puma"] * 3 + ["bata"] * 2
    points = [make_point(i, rng, brand=b, price=float(10 * i)) for i, b in enumerate(brands)]
    loaded(index, points)
    assert index.facet(COLL, "brand") == {"nike": 5, "puma": 3, "bata": 2}
    assert index.facet(COLL, "brand", SearchFilter(price_min=45.0)) == {"puma": 3, "bata": 2}
    assert index.facet(COLL, "brand", limit=1) == {"nike": 5}
    index.set_payload(COLL, points[0].id, {"brand": "gone"})  # a value that then disappears
    index.set_payload(COLL, points[0].id, {"brand": "nike"})
    assert index.facet(COLL, "brand") == {"nike": 5, "puma": 3, "bata": 2}


# -- search ---------------------------------------------------------------------------------


def test_filters_each_field_and_combinations(index: VectorIndex) -> None:
    rng = np.random.default_rng(8)
    rows = [
        dict(brand="nike", category="sneakers", gender="men", colour="black", source="myntra", price=50.0),
        dict(brand="nike", category="boots", gender="women", colour="white", source="shopee", price=150.0),
        dict(brand="puma", category="sneakers", gender="women", colour="black", source="myntra", price=99.5),
        dict(brand="bata", category="sandals", gender="unisex", colour="red", source="tiki", price=10.0),
    ]
    points = [make_point(i, rng, **row) for i, row in enumerate(rows)]
    loaded(index, points)
    ids = [p.id for p in points]
    cases = {
        SearchFilter(brand=("nike",)): [0, 1],
        SearchFilter(brand=("nike", "bata")): [0, 1, 3],
        SearchFilter(category=("sneakers",)): [0, 2],
        SearchFilter(gender=("women",)): [1, 2],
        SearchFilter(colour=("black", "red")): [0, 2, 3],
        SearchFilter(source=("tiki",)): [3],
        SearchFilter(price_min=50.0): [0, 1, 2],  # bounds are inclusive
        SearchFilter(price_max=99.5): [0, 2, 3],
        SearchFilter(price_min=20.0, price_max=100.0): [0, 2],
        SearchFilter(brand=("nike",), gender=("women",)): [1],
        SearchFilter(category=("sneakers",), price_max=60.0): [0],
        SearchFilter(brand=("adidas",)): [],
        SearchFilter(exclude_ids=(ids[0], ids[3])): [1, 2],
        SearchFilter(colour=("black",), exclude_ids=(ids[0],)): [2],
    }
    q = [VectorQuery("text", rng.standard_normal(DIM))]
    for flt, expected in cases.items():
        want = {ids[i] for i in expected}
        assert {h.id for h in index.search(COLL, q, flt, limit=10)} == want, flt
        assert index.count(COLL, flt) == len(want), flt


def random_products(n: int, rng: np.random.Generator) -> tuple[list[PointData], np.ndarray]:
    brands, cats, genders, colours = (
        ["nike", "puma", "bata", "adidas", "vans"],
        ["a", "b", "c"],
        [
            "men",
            "women",
            "unisex",
        ],
        ["black", "white", "red", "blue"],
    )
    text = unit(rng.standard_normal((n, DIM))).astype(np.float32)
    points = []
    for i in range(n):
        payload = {
            "brand": str(rng.choice(brands)),
            "category": str(rng.choice(cats)),
            "gender": str(rng.choice(genders)),
            "colour": str(rng.choice(colours)),
            "source": str(rng.choice(["s1", "s2"])),
            "price": float(np.round(rng.lognormal(4.0, 0.8), 2)),
            "product_id": i,
        }
        points.append(PointData(point_id("rand", str(i)), {"text": text[i]}, None, payload))
    return points, text


def random_filter(rng: np.random.Generator, points: list[PointData]) -> SearchFilter:
    def some(key: str) -> tuple[str, ...]:
        values = sorted({str(p.payload[key]) for p in points})
        if rng.random() < 0.5:
            return ()
        return tuple(rng.choice(values, size=rng.integers(1, 3), replace=False).tolist())

    lo = float(rng.lognormal(3.5, 0.8)) if rng.random() < 0.4 else None
    hi = float(rng.lognormal(4.5, 0.8)) if rng.random() < 0.4 else None
    exclude = tuple(p.id for p in rng.choice(points, size=3)) if rng.random() < 0.3 else ()  # type: ignore[arg-type]
    return SearchFilter(
        brand=some("brand"),
        category=some("category"),
        gender=some("gender"),
        colour=some("colour"),
        source=some("source"),
        price_min=lo,
        price_max=hi,
        exclude_ids=exclude,
    )


def test_random_filters_match_numpy_exact_search(index: VectorIndex) -> None:
    rng = np.random.default_rng(9)
    points, text = random_products(300, rng)
    loaded(index, points)
    found = relevant = 0
    for _ in range(200):
        flt = random_filter(rng, points)
        mask = np.array([flt.matches(p.id, p.payload) for p in points])
        assert index.count(COLL, flt) == int(mask.sum()), flt
        query = unit(rng.standard_normal(DIM))
        hits = index.search(COLL, [VectorQuery("text", query)], flt, limit=10, exact=True)
        by_id = {p.id: p for p in points}
        assert all(flt.matches(h.id, by_id[h.id].payload) for h in hits), flt
        scores = np.where(mask, text @ query, -np.inf)
        truth = {points[i].id for i in np.argsort(-scores)[: min(10, int(mask.sum()))]}
        assert len(hits) == len(truth)
        found += len(truth & {h.id for h in hits})
        relevant += len(truth)
    assert found / relevant >= 0.99


def test_pagination_with_offset(index: VectorIndex) -> None:
    rng = np.random.default_rng(10)
    points, _ = random_products(60, rng)
    loaded(index, points)
    q = [VectorQuery("text", rng.standard_normal(DIM))]
    full = [h.id for h in index.search(COLL, q, limit=10, exact=True)]
    page2 = [h.id for h in index.search(COLL, q, limit=5, offset=5, exact=True)]
    assert page2 == full[5:]


def test_sparse_lexical_search_uses_idf(index: VectorIndex) -> None:
    rng = np.random.default_rng(11)
    common, rare = 1, 2
    points = [make_point(i, rng) for i in range(6)]
    for i, p in enumerate(points):  # every point has the common term, only point 4 the rare one
        p.sparse = (
            SparseVector([common, rare], [1.0, 1.0]) if i == 4 else SparseVector([common, 9 + i], [1.5, 1.0])
        )
    loaded(index, points)
    hits = index.search(COLL, [VectorQuery("lexical", SparseVector([common, rare], [1.0, 1.0]))], limit=10)
    assert hits[0].id == points[4].id  # the rare term outweighs a larger weight on the common one
    assert len(hits) == 6
    only_rare = index.search(COLL, [VectorQuery("lexical", SparseVector([rare], [1.0]))])
    assert [h.id for h in only_rare] == [points[4].id]  # no shared term, no hit


def test_hybrid_rrf_puts_the_double_winner_first(index: VectorIndex) -> None:
    rng = np.random.default_rng(12)
    points, text = random_products(40, rng)
    for i, p in enumerate(points):
        p.sparse = SparseVector([1000 + i, 7], [1.0, 0.2])
    loaded(index, points)
    target = points[17]
    dense = VectorQuery("text", text[17] + 0.05 * rng.standard_normal(DIM))
    lexical = VectorQuery("lexical", SparseVector([1000 + 17, 7], [1.0, 1.0]))
    hits = index.search(COLL, [dense, lexical], limit=5)
    assert hits[0].id == target.id
    assert hits[0].score > hits[1].score

    # Weights: a heavily weighted lexical list decides the top when the lists disagree.
    other = VectorQuery("lexical", SparseVector([1000 + 3], [1.0]), weight=5.0)
    assert index.search(COLL, [dense, other], limit=3)[0].id == points[3].id
    # Empty queries are skipped: a lone dense query is a plain nearest search with cosine scores.
    solo = index.search(COLL, [dense, VectorQuery("lexical", SparseVector([], []))], limit=3)
    assert solo[0].id == target.id and solo[0].score > 0.9
    assert index.search(COLL, [VectorQuery("image", None)]) == []
    # The filter applies inside every prefetch, so fused results all satisfy it.
    flt = SearchFilter(brand=("nike",))
    fused = index.search(COLL, [dense, lexical], flt, limit=10)
    assert fused and all(h.payload["brand"] == "nike" for h in fused)
    assert len(fused) == min(10, sum(p.payload["brand"] == "nike" for p in points))


def test_equal_scores_come_in_one_order_every_time(index: VectorIndex) -> None:
    """RRF sums tie whenever two products swap ranks between the lists, and duplicate listings
    tie in every list; the engine orders ties arbitrarily, the index by id, so a query answers
    the same page every time and pages never overlap."""
    rng = np.random.default_rng(14)
    q = unit(rng.standard_normal(DIM))
    points = []
    for i in range(0, 40, 2):
        a, b = unit(q + 0.5 * rng.standard_normal(DIM)), unit(q + 0.5 * rng.standard_normal(DIM))
        points.append(PointData(point_id("t", str(i)), {"image": a, "text": b}))
        points.append(PointData(point_id("t", str(i + 1)), {"image": b, "text": a}))  # ranks swapped
    loaded(index, points)
    queries = [VectorQuery("image", q), VectorQuery("text", q)]
    first = index.search(COLL, queries, limit=10)
    assert sum(a.score == b.score for a, b in pairwise(first)) >= 3  # ties, in pairs
    assert all(index.search(COLL, queries, limit=10) == first for _ in range(20))
    for a, b in pairwise(first):
        assert (-a.score, a.id) < (-b.score, b.id)
    pages = index.search(COLL, queries, limit=5) + index.search(COLL, queries, limit=5, offset=5)
    assert pages == first


def test_more_like_this_point(index: VectorIndex) -> None:
    rng = np.random.default_rng(13)
    points, text = random_products(50, rng)
    for p in points:
        p.vectors["image"] = p.vectors["text"]
    loaded(index, points)
    hits = index.search(COLL, [VectorQuery("image", point_id=points[0].id)], limit=5, exact=True)
    expected = [points[i].id for i in np.argsort(-(text @ text[0]))[1:6]]
    assert [h.id for h in hits] == expected  # the point itself is left out
    with pytest.raises(PointNotFound):
        index.search(COLL, [VectorQuery("image", point_id=point_id("test", "missing"))])


def test_optimize_keeps_results(index: VectorIndex) -> None:
    rng = np.random.default_rng(14)
    points, _ = random_products(300, rng)
    loaded(index, points)
    queries = [unit(rng.standard_normal(DIM)) for _ in range(10)]
    flt = SearchFilter(brand=("nike", "puma"))
    before = [[h.id for h in index.search(COLL, [VectorQuery("text", q)], flt)] for q in queries]
    index.optimize(COLL)
    after = [[h.id for h in index.search(COLL, [VectorQuery("text", q)], flt)] for q in queries]
    assert after == before
    assert index.count(COLL) == 300


# -- embedded store -------------------------------------------------------------------------


def test_edge_persists_points_and_aliases(tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    points = [make_point(i, rng) for i in range(10)]
    with EdgeIndex(tmp_path) as idx:
        loaded(idx, points)
        idx.set_alias("live", COLL)
        idx.optimize(COLL)
        before = idx.search("live", [VectorQuery("text", points[2].vectors["text"])], limit=3)
        with pytest.raises(IndexUnavailable):
            EdgeIndex(tmp_path)  # one process (one index object) owns the store
    with EdgeIndex(tmp_path) as idx:
        assert idx.resolve_alias("live") == COLL
        assert idx.count("live") == 10
        assert idx.indexed_fields(COLL) == PAYLOAD_SCHEMA
        after = idx.search("live", [VectorQuery("text", points[2].vectors["text"])], limit=3)
        assert [h.id for h in after] == [h.id for h in before]


def test_local_path_persists(tmp_path: Path) -> None:
    rng = np.random.default_rng(16)
    with QdrantClientIndex(path=str(tmp_path)) as idx:
        loaded(idx, [make_point(1, rng)])
        idx.set_alias("live", COLL)
    with QdrantClientIndex(path=str(tmp_path)) as idx:
        assert idx.resolve_alias("live") == COLL and idx.count("live") == 1


def test_open_index_maps_settings_to_one_backend(tmp_path: Path) -> None:
    def settings(**qdrant: object) -> Settings:
        return Settings(data_dir=tmp_path, qdrant=QdrantSettings(**qdrant))  # type: ignore[arg-type]

    with open_index(settings()) as idx:  # type: ignore[attr-defined]
        assert isinstance(idx, EdgeIndex) and idx.root == tmp_path / "qdrant" and idx.filter_links
    with open_index(settings(backend="local", path=tmp_path / "l")) as idx:  # type: ignore[attr-defined]
        assert isinstance(idx, QdrantClientIndex) and idx.is_local
    for backend in ("edge", "local"):
        with open_index(settings(backend=backend, path=":memory:", filter_links=False)) as idx:  # type: ignore[attr-defined]
            assert not idx.filter_links  # type: ignore[attr-defined]
    for backend in ("edge", "local"):
        with open_index(settings(backend=backend, path=":memory:")) as idx:  # type: ignore[attr-defined]
            idx.create_collection(COLL, DIM)
            assert idx.list_collections() == [COLL]
    remote = open_index(settings(url="http://127.0.0.1:1"))
    assert isinstance(remote, QdrantClientIndex) and not remote.is_local
    with pytest.raises(IndexUnavailable):
        remote.count(COLL)
    remote.close()
    with pytest.raises(ValueError):
        open_index(settings(backend="nope"))


def test_facet_and_counts_are_consistent(index: VectorIndex) -> None:
    rng = np.random.default_rng(17)
    points, _ = random_products(120, rng)
    loaded(index, points)
    flt = SearchFilter(gender=("women",))
    want = Counter(p.payload["colour"] for p in points if flt.matches(p.id, p.payload))
    assert index.facet(COLL, "colour", flt) == dict(want)


def test_per_query_filter_boosts_without_hiding(index: VectorIndex) -> None:
    rng = np.random.default_rng(21)
    points, text = random_products(60, rng)
    loaded(index, points)
    q = text[5] + 0.05 * rng.standard_normal(DIM)
    plain = index.search(COLL, [VectorQuery("text", q), VectorQuery("image", q)], limit=20)
    wanted = next(
        h.payload["category"] for h in plain[5:] if h.payload["category"] != plain[0].payload["category"]
    )
    boost = VectorQuery("text", q, filter=SearchFilter(category=(wanted,)))
    boosted = index.search(COLL, [VectorQuery("text", q), VectorQuery("image", q), boost], limit=20)
    # Products of the boosted category climb; others still appear.
    rank = {h.id: i for i, h in enumerate(boosted)}
    before = {h.id: i for i, h in enumerate(plain)}
    climbed = [h.id for h in plain if h.payload["category"] == wanted and h.id in rank]
    assert climbed and all(rank[i] <= before[i] for i in climbed)
    assert any(h.payload["category"] != wanted for h in boosted)
    # A lone query with its own filter is a filtered search; the global filter still applies.
    only = index.search(COLL, [boost], SearchFilter(brand=("nike",)), limit=50)
    assert all(h.payload["category"] == wanted and h.payload["brand"] == "nike" for h in only)


def test_filter_merge() -> None:
    a = SearchFilter(brand=("nike", "puma"), price_min=100, exclude_ids=("x",))
    b = SearchFilter(brand=("puma",), category=("heels",), price_min=200, price_max=900, exclude_ids=("y",))
    m = a.merged(b)
    assert m.brand == ("puma",) and m.category == ("heels",)
    assert (m.price_min, m.price_max) == (200, 900) and m.exclude_ids == ("x", "y")
    assert a.merged(None) is a
    assert SearchFilter(brand=("nike",)).merged(SearchFilter(brand=("puma",))).brand not in ((), ("nike",))


def test_thousands_of_random_filters_never_leak_through_fused_search(tmp_path: Path) -> None:
    """The served path on the default backend after an HNSW build: dense + dense + sparse fused,
    2,000 random filter combinations, not one hit outside its filter."""
    from catalog.index_edge import EdgeIndex

    rng = np.random.default_rng(31)
    points, text = random_products(1000, rng)
    for i, p in enumerate(points):
        p.vectors["image"] = unit(text[i] + 0.3 * rng.standard_normal(DIM))
        terms = sorted({int(t) for t in rng.integers(0, 50, size=4)})
        p.sparse = SparseVector(terms, [1.0] * len(terms))
    with EdgeIndex(str(tmp_path / "edge")) as index:
        loaded(index, points)
        index.optimize(COLL)
        by_id = {p.id: p for p in points}
        violations = 0
        for _ in range(2000):
            flt = random_filter(rng, points)
            q = unit(rng.standard_normal(DIM))
            sparse = SparseVector([int(rng.integers(0, 50))], [1.0])
            queries = [VectorQuery("text", q), VectorQuery("image", q), VectorQuery("lexical", sparse)]
            hits = index.search(COLL, queries, flt, limit=20)
            violations += sum(not flt.matches(h.id, by_id[h.id].payload) for h in hits)
        assert violations == 0
