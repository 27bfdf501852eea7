"""Filtered hybrid text search at catalogue scale, through the same `SearchService` the API uses.

    python bench/bench_search_scale.py                 # 100k products, 300 queries
    python bench/bench_search_scale.py --n 1000000 --queries 300

What is real: the query path (intent parsing, query encoding with the chosen encoder on this
CPU, the lexical query vector, the RRF-fused prefetches with every filter inside them, the
category boost, hydration of the hits from the SQL store), the embedded Qdrant engine with its
HNSW graph built, and catalogue-like rows (brands, types, colours, genders, VND prices, English
and Vietnamese titles) whose lexical vectors come from the real tokenizer. What is synthetic:
the dense vectors (clustered by type and colour, as real embeddings are), so the figures measure
speed, not relevance.

The built store is kept under ``--data`` (default var/bench/search-<n>) and reused: the HNSW
build of 100k points takes minutes on 2 cores and only has to happen once.
Reports p50/p95/p99 of the whole search and, separately, of query encoding and of the index
query, as JSON on stdout. On a rerun over a built store it also reports the process's resident
memory before the store is opened, after the encoder loaded, and after the queries: their
difference is what the open store costs (a run that just built the store holds the build's
garbage too, so it reports none).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.db import migrate
from catalog.models import Product
from catalog.vector_index import PointData, SearchFilter, VectorQuery, point_id
from clipshoe.runtime import Runtime
from clipshoe.settings import Settings
from ingest.vocab import CATEGORIES, COLOURS, VIETNAMESE_NAMES
from search import indexing, lexical
from search.service import Mode

BRANDS = [
    "Nike", "Adidas", "Puma", "Reebok", "Bitis", "Vans", "Converse", "Skechers", "Asics",
    "New Balance", "Fila", "Crocs", "Bata", "Clarks", "Timberland", "Ananas", "Mizuno", "Lacoste",
    "Hush Puppies", "Woodland", "Red Tape", "Birkenstock", "Under Armour", "Onitsuka Tiger",
]  # fmt: skip
GENDERS = ["men", "women", "unisex", "boys", "girls"]
QUERIES = [
    "black running shoes", "white leather sneakers for women", "giày thể thao nam màu đen",
    "giay the thao nu mau trang", "red heels under 1500", "dép nữ dưới 500k", "brown formal shoes men",
    "giày cao gót đỏ", "blue casual shoes", "nike running shoes for men", "sandals for kids",
    "giày da nam màu nâu", "grey sports shoes under 2 triệu", "boots women black", "flip flops",
    "giày lười nam", "pink flats for girls", "adidas white sneakers", "giày chạy bộ", "loafers",
]  # fmt: skip


def settings_for(data: Path) -> Settings:
    os.environ.pop("CLIPSHOE_DATABASE__URL", None)
    os.environ.pop("CLIPSHOE_QDRANT__URL", None)
    os.environ.pop("CLIPSHOE_BROKER__URL", None)
    return Settings(data_dir=data)


def product_rows(n: int, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(n):
        brand, cat, colour = rng.choice(BRANDS), rng.choice(CATEGORIES), rng.choice(COLOURS)
        gender = rng.choice(GENDERS)
        if rng.random() < 0.4:  # a Vietnamese listing
            title = f"{VIETNAMESE_NAMES.get(cat, cat)} {brand} {VIETNAMESE_NAMES.get(gender, gender)} màu "
            title += f"{VIETNAMESE_NAMES.get(colour, colour)} mẫu {rng.randrange(1000)}"
        else:
            title = f"{brand} {gender} {colour} {cat} model {rng.randrange(1000)}"
        rows.append(
            {
                "id": i + 1,
                "source": "bench",
                "source_id": str(i),
                "point_id": point_id("bench", str(i)),
                "title": title,
                "brand": brand,
                "price": float(round(rng.lognormvariate(13.5, 0.6), -3)),  # VND, median ≈ 730k
                "currency": "VND",
                "category": cat,
                "gender": gender,
                "colour": colour,
                "attributes": {},
            }
        )
    return rows


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


# The synthetic vectors' shape, fitted to `default`'s embeddings of the shared catalogue's
# val+test photos (1,528): variance along the principal axes falls as (i + 1.5)^-1.6, so the
# participation ratio is 13 (real 13.3; isotropic noise would be ≈ 220), half the variance lies
# between (type, colour) clusters (real 0.52), the mean vector has norm 0.28 (real 0.28) and a
# product's text vector has cosine 0.5 to its photo's (real 0.50). HNSW recall and latency
# depend on this shape: isotropic vectors, the generator before 2026-12-05, are the worst case
# for any graph index and no encoder's output looks like them.
SPECTRUM_ALPHA, SPECTRUM_OFFSET, CLUSTER_SHARE, MEAN_NORM, TEXT_NOISE = 1.6, 1.5, 0.52, 0.28, 1.7
VECTORS_VERSION = "spectrum-2026-12-05"  # recorded in built.json; a store of other vectors is refused


def dense_vectors(
    rows: list[dict], dim: int, nrng: np.random.Generator, batch: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(start, image, text) per chunk of rows, clustered by (type, colour), as real embeddings are.

    Deterministic for a seed, so the recall check regenerates what the build stored.
    """
    axes, _ = np.linalg.qr(nrng.standard_normal((dim, dim)))
    scale = (np.arange(1, dim + 1) + SPECTRUM_OFFSET) ** (-SPECTRUM_ALPHA / 2)
    axes = axes * (scale / np.linalg.norm(scale))  # column i scaled by the i-th axis' spread
    mean = unit(nrng.standard_normal(dim)) * MEAN_NORM
    centres: dict[tuple[str, str], np.ndarray] = {}
    for a in range(0, len(rows), batch):
        keys = [(r["category"], r["colour"]) for r in rows[a : a + batch]]
        for k in keys:
            if k not in centres:
                centres[k] = nrng.standard_normal(dim)
        latent = np.sqrt(CLUSTER_SHARE) * np.stack([centres[k] for k in keys])
        latent += np.sqrt(1 - CLUSTER_SHARE) * nrng.standard_normal((len(keys), dim))
        photo = mean + latent @ axes.T
        text = photo + TEXT_NOISE * nrng.standard_normal((len(keys), dim)) @ axes.T
        yield a, unit(photo), unit(text)


def insert_rows(rt: Runtime, rows: list[dict]) -> None:
    with rt.sessions.begin() as s:
        for a in range(0, len(rows), 10_000):
            s.bulk_insert_mappings(Product, rows[a : a + 10_000])  # type: ignore[arg-type]


def build(rt: Runtime, n: int, seed: int, batch: int = 2000) -> dict[str, float]:
    """Rows into SQL, points into the model's collection, then the HNSW build."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    rows = product_rows(n, rng)
    t0 = time.perf_counter()
    insert_rows(rt, rows)
    t_sql = time.perf_counter() - t0
    name = indexing.ensure_collection(rt.index, rt.encoder, rt.alias)
    t0 = time.perf_counter()
    for a, image, text in dense_vectors(rows, rt.encoder.dim, nrng, batch):
        chunk = rows[a : a + batch]
        points = []
        for j, r in enumerate(chunk):
            p = Product(**r)
            p.group_id = None
            points.append(
                PointData(
                    id=r["point_id"],
                    vectors={"image": image[j], "text": text[j]},
                    sparse=lexical.document_vector(indexing.lexical_text(p)),
                    payload=indexing.payload(p),
                )
            )
        rt.index.upsert(name, points)
    t_upsert = time.perf_counter() - t0
    t0 = time.perf_counter()
    rt.index.optimize(name)
    t_optimize = time.perf_counter() - t0
    return {
        "sql_s": round(t_sql, 1),
        "upsert_s": round(t_upsert, 1),
        "optimize_s": round(t_optimize, 1),
        "vectors": VECTORS_VERSION,
        "filter_links": rt.settings.qdrant.filter_links,
    }


def random_filter(rng: random.Random) -> SearchFilter:
    """What a shopper sets: 1-3 brands, sometimes a gender and a price ceiling."""
    kw: dict[str, object] = {"brand": tuple(b.lower() for b in rng.sample(BRANDS, rng.randint(1, 3)))}
    if rng.random() < 0.5:
        kw["gender"] = (rng.choice(GENDERS),)
    if rng.random() < 0.5:
        kw["price_max"] = float(rng.choice([500_000, 1_000_000, 2_000_000]))
    return SearchFilter(**kw)  # type: ignore[arg-type]


def ann_recall(
    rt: Runtime, collection: str, n: int, seed: int, cases: list, service, batch: int = 2000
) -> dict[str, float]:
    """Dense text→photo recall@10 of the HNSW index against exact search, with each case's filters
    (those the shopper set plus those read from the text) and without any filter.

    The query vectors come from the same distribution as the stored ones: each case uses the
    synthetic text vector of a random product (a description of that shoe). The encoder's real
    query vectors are unrelated to the synthetic photo vectors (cosine ≈ 0.25 to everything), and
    such out-of-distribution queries measure the data, not the index."""
    rows = product_rows(n, random.Random(seed))
    chunks = list(dense_vectors(rows, rt.encoder.dim, np.random.default_rng(seed), batch))
    image = np.concatenate([img for _, img, _ in chunks])
    text_vectors = np.concatenate([txt for _, _, txt in chunks])
    columns = {
        "brand": np.array([r["brand"].lower() for r in rows]),
        "gender": np.array([r["gender"] for r in rows]),
        "category": np.array([r["category"] for r in rows]),
        "colour": np.array([r["colour"] for r in rows]),
    }
    price = np.array([r["price"] for r in rows])
    ids = np.array([r["point_id"] for r in rows])
    pick = random.Random(seed + 1)
    found = {"filtered": 0, "unfiltered": 0}
    total = {"filtered": 0, "unfiltered": 0}
    for text, flt in cases:
        _, applied, _ = service.understand(text, flt)
        vec = text_vectors[pick.randrange(n)]
        mask = np.ones(n, dtype=bool)
        for key, values in applied.keyword_conditions().items():
            mask &= np.isin(columns[key], list(values))
        if applied.price_min is not None:
            mask &= price >= applied.price_min
        if applied.price_max is not None:
            mask &= price <= applied.price_max
        for kind, rows_in, search_filter in (
            ("filtered", np.flatnonzero(mask), applied),
            ("unfiltered", np.arange(n), SearchFilter()),
        ):
            if not len(rows_in):
                continue
            exact = set(ids[rows_in[np.argsort(-(image[rows_in] @ vec))[:10]]].tolist())
            hits = rt.index.search(collection, [VectorQuery("image", vec)], search_filter, limit=10)
            found[kind] += len(exact & {h.id for h in hits})
            total[kind] += len(exact)
    return {kind: round(found[kind] / max(1, total[kind]), 4) for kind in found}


def rss_mb() -> float:
    """This process's resident memory (Linux), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def pct(xs: list[float]) -> dict[str, float]:
    a = np.array(xs) * 1e3
    return {f"p{q}_ms": round(float(np.percentile(a, q)), 2) for q in (50, 95, 99)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--data", type=Path, help="store folder (default var/bench/search-<n>)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--explain", action="store_true", help="also explain each hit, as the web page asks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--no-filter-links",
        action="store_true",
        help="build without HNSW links inside filter blocks (CLIPSHOE_QDRANT__FILTER_LINKS=false)",
    )
    args = ap.parse_args()
    if args.no_filter_links:
        os.environ["CLIPSHOE_QDRANT__FILTER_LINKS"] = "false"
    data = args.data or Path(f"var/bench/search-{args.n}")
    os.environ["CLIPSHOE_ENCODER__MODEL"] = args.model
    rss = {"start": rss_mb()}
    rt = Runtime(settings_for(data))
    marker = data / "built.json"
    data.mkdir(parents=True, exist_ok=True)
    migrate(rt.settings)  # also brings a store built by an older version up to date
    if marker.is_file():
        built = json.loads(marker.read_text())
        asked = {"vectors": VECTORS_VERSION, "filter_links": rt.settings.qdrant.filter_links}
        if {k: built.get(k) for k in asked} != asked:  # the figures would be for another store
            sys.exit(f"{data} was built as {built}, not {asked}: remove the folder or pass --data")
        with rt.sessions() as s:
            empty = s.scalar(select(func.count()).select_from(Product)) == 0
        if empty:  # the SQL file was removed (e.g. after a schema change): the rows come back alone
            insert_rows(rt, product_rows(args.n, random.Random(args.seed)))
    else:
        print(f"building {args.n} products under {data} (once) …", file=sys.stderr)
        built = build(rt, args.n, args.seed)
        marker.write_text(json.dumps(built))
        rss = {}
    rt.encoder.ensure_loaded()
    if rss:
        rss["encoder_loaded"] = rss_mb()
    service = rt.search
    rng = random.Random(args.seed)
    cases = [(rng.choice(QUERIES), random_filter(rng)) for _ in range(args.queries)]
    for text, flt in cases[:10]:  # warm caches (catalogue facts, first-call allocations)
        service.search(text, flt=flt, mode=Mode.hybrid)
    total, encode, index, hits = [], [], [], []
    for text, flt in cases:
        t0 = time.perf_counter()
        result = service.search(text, flt=flt, mode=Mode.hybrid, limit=20, explain_hits=args.explain)
        total.append(time.perf_counter() - t0)
        hits.append(len(result.hits))
    for text, flt in cases:  # the parts alone, same cases
        parsed_text, applied, understood = service.understand(text, flt)
        t0 = time.perf_counter()
        vec = rt.encoder.encode_texts([parsed_text])[0]
        encode.append(time.perf_counter() - t0)
        queries = service.text_queries(parsed_text, Mode.hybrid, vec)
        queries += service._boosts(understood, applied, vec)
        t0 = time.perf_counter()
        rt.index.search(service.collection, queries, applied, limit=20)
        index.append(time.perf_counter() - t0)
    if rss:  # before the recall check, which holds every vector of the store in numpy
        rss["after_queries"] = rss_mb()
    recall = ann_recall(rt, service.collection, args.n, args.seed, cases, service)
    out = {
        "n": args.n,
        "queries": len(cases),
        "model": rt.encoder.version,
        "build": built,
        "search_total": pct(total),
        "query_encoding": pct(encode),
        "index_query": pct(index),
        "mean_hits": round(float(np.mean(hits)), 1),
        "filtered_recall@10_image": recall["filtered"],
        "unfiltered_recall@10_image": recall["unfiltered"],
        "rss_mb": rss or "not measured: this run built the store",
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=1))
    rt.close()


if __name__ == "__main__":
    main()
