"""Benchmark ClipShoe's vector index backends side by side with a numpy brute force.

    python bench/bench_vector_index.py                      # 100k points: edge + numpy; local at 20k
    python bench/bench_vector_index.py --n 20000 --backends edge,local,numpy
    python bench/bench_vector_index.py --n 20000 --local-n 20000    # all three on the same points: ratios

Data: clustered unit vectors (real embeddings are clustered; uniform random vectors make HNSW
look far worse than it is, see docs/facts.md), `image` and `text` per point, a Zipf-distributed
sparse lexical vector, and catalogue-like payloads (~50 brands Zipf, 8 categories, 5 genders,
20 colours, log-normal prices). Filters are drawn until they match 1-5% of the points.

Reports per backend: upsert time, optimize time, p50/p95 latency of dense (text->image) and
hybrid (image + text + lexical, RRF) queries, unfiltered and filtered, and dense recall@10
against the exact numpy answer. Latencies go through the VectorIndex interface, as the API does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.index_edge import EdgeIndex
from catalog.index_qdrant import QdrantClientIndex
from catalog.vector_index import (
    KEYWORD_FIELDS,
    PointData,
    SearchFilter,
    SparseVector,
    VectorIndex,
    VectorQuery,
    point_id,
)

VALUES = {
    "brand": [f"brand{i:02d}" for i in range(50)],
    "category": ["sneakers", "boots", "sandals", "heels", "flats", "loafers", "slippers", "sports"],
    "gender": ["men", "women", "boys", "girls", "unisex"],
    "colour": [f"colour{i:02d}" for i in range(20)],
    "source": ["myntra", "shopee", "tiki"],
}
VOCAB = 20_000
TERMS_PER_DOC = 12


@dataclass
class Catalogue:
    ids: list[str]
    image: np.ndarray  # (n, dim), unit rows
    text: np.ndarray
    codes: dict[str, np.ndarray]  # field -> value index per point
    price: np.ndarray
    term_ids: np.ndarray  # (n, TERMS_PER_DOC)
    term_w: np.ndarray

    def payload(self, i: int) -> dict[str, object]:
        out: dict[str, object] = {k: VALUES[k][int(self.codes[k][i])] for k in KEYWORD_FIELDS}
        return {**out, "price": float(self.price[i]), "product_id": i}

    def point(self, i: int) -> PointData:
        return PointData(
            self.ids[i],
            {"image": self.image[i], "text": self.text[i]},
            SparseVector(self.term_ids[i].tolist(), self.term_w[i].tolist()),
            self.payload(i),
        )


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def zipf_choice(rng: np.random.Generator, k: int, n: int, a: float = 1.1) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** a
    return rng.choice(k, size=n, p=p / p.sum())


def unique_rows(terms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Redraw repeated terms within a document, so a term has one weight per document."""
    while True:
        order = np.argsort(terms, axis=1, kind="stable")
        srt = np.take_along_axis(terms, order, axis=1)
        dup = np.zeros_like(terms, dtype=bool)
        np.put_along_axis(dup, order[:, 1:], srt[:, 1:] == srt[:, :-1], axis=1)
        if not dup.any():
            return terms
        terms[dup] = rng.integers(0, VOCAB, int(dup.sum()))


def make_catalogue(n: int, dim: int, rng: np.random.Generator) -> Catalogue:
    centres = unit(rng.standard_normal((max(n // 200, 8), dim)))
    cluster = rng.integers(0, len(centres), n)
    image = unit(centres[cluster] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32))
    text = unit(image + 0.5 * rng.standard_normal((n, dim)).astype(np.float32))
    codes = {
        "brand": zipf_choice(rng, 50, n),
        "category": rng.integers(0, 8, n),
        "gender": rng.integers(0, 5, n),
        "colour": zipf_choice(rng, 20, n, 0.8),
        "source": rng.integers(0, 3, n),
    }
    price = np.round(rng.lognormal(7.5, 0.7, n), 0)
    term_ids = unique_rows(zipf_choice(rng, VOCAB, n * TERMS_PER_DOC, 1.0).reshape(n, TERMS_PER_DOC), rng)
    term_w = rng.uniform(0.3, 1.5, (n, TERMS_PER_DOC)).astype(np.float32)
    ids = [point_id("bench", str(i)) for i in range(n)]
    return Catalogue(ids, image, text, codes, price, term_ids, term_w)


def random_filters(cat: Catalogue, count: int, rng: np.random.Generator) -> list[SearchFilter]:
    """Filters a shopper would set (brand, gender + category, colour + price ...) matching 1-5%."""
    n = len(cat.ids)
    out: list[SearchFilter] = []
    while len(out) < count:
        kw: dict[str, object] = {}
        for key in rng.choice(
            ["brand", "category", "gender", "colour"], size=rng.integers(1, 4), replace=False
        ):
            kw[str(key)] = tuple(
                rng.choice(VALUES[str(key)], size=rng.integers(1, 3), replace=False).tolist()
            )
        if rng.random() < 0.5:
            lo = float(np.quantile(cat.price, rng.uniform(0, 0.6)))
            kw["price_min"], kw["price_max"] = lo, lo * rng.uniform(1.5, 4)
        flt = SearchFilter(**kw)  # type: ignore[arg-type]
        share = mask_of(cat, flt).sum() / n
        if 0.01 <= share <= 0.05:
            out.append(flt)
    return out


def mask_of(cat: Catalogue, flt: SearchFilter) -> np.ndarray:
    mask = np.ones(len(cat.ids), dtype=bool)
    for key, values in flt.keyword_conditions().items():
        mask &= np.isin(cat.codes[key], [VALUES[key].index(v) for v in values])
    if flt.price_min is not None:
        mask &= cat.price >= flt.price_min
    if flt.price_max is not None:
        mask &= cat.price <= flt.price_max
    return mask


class NumpyIndex:
    """Exact reference: dense dot products (mask first) and an inverted index with Qdrant's IDF."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        n = len(cat.ids)
        flat_t, flat_d = cat.term_ids.ravel(), np.repeat(np.arange(n), TERMS_PER_DOC)
        order = np.lexsort((flat_d, flat_t))
        self.post_t, self.post_d, self.post_w = flat_t[order], flat_d[order], cat.term_w.ravel()[order]
        self.offsets = np.searchsorted(self.post_t, np.arange(VOCAB + 1))
        df = np.array(
            [
                len(np.unique(self.post_d[a:b]))
                for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)
            ]
        )
        self.idf = np.log((n - df + 0.5) / (df + 0.5) + 1.0)

    def dense(self, name: str, q: np.ndarray, mask: np.ndarray | None, k: int) -> np.ndarray:
        matrix = getattr(self.cat, name)
        rows = np.arange(len(matrix)) if mask is None else np.flatnonzero(mask)
        scores = (matrix if mask is None else matrix[rows]) @ q  # no copy of the whole matrix
        top = (
            np.argpartition(-scores, min(k, len(scores) - 1))[:k]
            if len(scores) > k
            else np.arange(len(scores))
        )
        return rows[top[np.argsort(-scores[top])]]

    def sparse(self, q: SparseVector, mask: np.ndarray | None, k: int) -> np.ndarray:
        scores = np.zeros(len(self.cat.ids), dtype=np.float32)
        for t, w in zip(q.indices, q.values, strict=True):
            a, b = self.offsets[t], self.offsets[t + 1]
            np.add.at(scores, self.post_d[a:b], w * self.idf[t] * self.post_w[a:b])
        if mask is not None:
            scores[~mask] = 0
        hit = np.flatnonzero(scores > 0)
        return hit[np.argsort(-scores[hit])][:k]

    def hybrid(
        self, img: np.ndarray, txt: np.ndarray, lex: SparseVector, mask: np.ndarray | None, k: int
    ) -> list[int]:
        pre = 100
        fused: dict[int, float] = {}
        for ranked in (
            self.dense("image", img, mask, pre),
            self.dense("text", txt, mask, pre),
            self.sparse(lex, mask, pre),
        ):
            for r, i in enumerate(ranked.tolist()):
                fused[i] = fused.get(i, 0.0) + 1.0 / (60 + r + 1)
        return sorted(fused, key=fused.__getitem__, reverse=True)[:k]


@dataclass
class Query:
    image: np.ndarray
    text: np.ndarray
    lexical: SparseVector


def make_queries(cat: Catalogue, count: int, rng: np.random.Generator) -> list[Query]:
    out = []
    for i in rng.integers(0, len(cat.ids), count):
        q = unit(cat.text[i] + 0.6 * rng.standard_normal(cat.text.shape[1]).astype(np.float32))
        terms = np.unique(cat.term_ids[i][rng.choice(TERMS_PER_DOC, 3, replace=False)])
        out.append(Query(q, q, SparseVector(terms.tolist(), [1.0] * len(terms))))
    return out


def pct(xs: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(xs, 50)) * 1e3, 2),
        "p95_ms": round(float(np.percentile(xs, 95)) * 1e3, 2),
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run_queries(
    search: Callable[[Query, SearchFilter | None, bool], list[str]],
    queries: list[Query],
    filters: list[SearchFilter],
    truth: dict[str, list[set[str]]],
) -> dict[str, object]:
    """Latency of every kind; recall@10 of the filtered ones against numpy's exact answer."""
    res: dict[str, object] = {}
    for kind, hybrid in (("dense", False), ("hybrid", True)):
        res[f"{kind}_unfiltered"] = pct([timed(lambda q=q, h=hybrid: search(q, None, h))[0] for q in queries])
        lat, found = [], 0
        for q, f, t in zip(queries, filters, truth[kind], strict=True):
            dt, ids = timed(lambda q=q, f=f, h=hybrid: search(q, f, h))
            lat.append(dt)
            found += len(t & set(ids))  # type: ignore[arg-type]
        res[f"{kind}_filtered"] = pct(lat)
        res[f"{kind}_filtered_recall@10"] = round(found / max(1, sum(len(t) for t in truth[kind])), 4)
    return res


def index_search(index: VectorIndex, name: str) -> Callable[[Query, SearchFilter | None, bool], list[str]]:
    def search(q: Query, flt: SearchFilter | None, hybrid: bool) -> list[str]:
        vq = [VectorQuery("image", q.image)]
        if hybrid:
            vq += [VectorQuery("text", q.text), VectorQuery("lexical", q.lexical)]
        return [h.id for h in index.search(name, vq, flt, limit=10)]

    return search


def gil_share_during(fn: Callable[[], object]) -> tuple[float, float]:
    """Run fn while a Python thread ticks every 10 ms; the tick share shows how long fn held the GIL."""
    ticks, stop = [0], threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.01)

    th = threading.Thread(target=tick)
    th.start()
    dt, _ = timed(fn)
    stop.set()
    th.join()
    return dt, min(1.0, ticks[0] / max(1.0, dt / 0.01))


def rss_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def disk_mb(folder: str) -> float:
    return sum(f.stat().st_blocks * 512 for f in Path(folder).rglob("*") if f.is_file()) / 2**20


def bench_backend(
    kind: str, cat: Catalogue, n: int, args: argparse.Namespace, queries, filters, truth
) -> dict:
    rss_before = rss_mb()
    tmp = tempfile.TemporaryDirectory(prefix=f"bench-{kind}-")
    index: VectorIndex = (
        EdgeIndex(tmp.name, hnsw_ef=args.hnsw_ef) if kind == "edge" else QdrantClientIndex(":memory:")
    )
    name = "bench_v1"
    index.create_collection(name, cat.image.shape[1])
    t = time.perf_counter()
    for a in range(0, n, args.batch):
        index.upsert(name, [cat.point(i) for i in range(a, min(n, a + args.batch))])
    out: dict[str, object] = {"n": n, "upsert_s": round(time.perf_counter() - t, 2)}
    if kind == "edge":
        dt, share = gil_share_during(lambda: index.optimize(name))
        out["optimize_s"], out["python_thread_share_during_optimize"] = round(dt, 1), round(share, 3)
    m = len(queries) if kind == "edge" else min(len(queries), args.local_queries)
    out.update(
        run_queries(index_search(index, name), queries[:m], filters[:m], {k: v[:m] for k, v in truth.items()})
    )
    # Memory the loaded, queried index holds: resident growth of this process (run without the
    # GLIBC_TUNABLES that keep freed memory mapped, or it also counts the points built to upsert),
    # and the store's files for the embedded engine.
    grown = rss_mb() - rss_before
    out["rss_growth_mb"] = round(grown, 1)
    out["rss_gb_per_million"] = round(grown / n * 1e6 / 1024, 2)
    if kind == "edge":
        out["disk_mb"] = round(disk_mb(tmp.name), 1)
    index.close()
    tmp.cleanup()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="points for edge and numpy")
    ap.add_argument("--local-n", type=int, default=20_000, help="points for qdrant-client local mode")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--local-queries", type=int, default=50, help="local mode is slow: fewer queries")
    ap.add_argument("--batch", type=int, default=1000, help="points per upsert call")
    ap.add_argument("--hnsw-ef", type=int, default=128)
    ap.add_argument("--backends", default="edge,local,numpy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    backends = args.backends.split(",")

    rng = np.random.default_rng(args.seed)
    n_max = max(args.n, args.local_n if "local" in backends else 0)
    t = time.perf_counter()
    cat = make_catalogue(n_max, args.dim, rng)
    queries = make_queries(cat, args.queries, rng)
    print(f"data: {n_max} points x {args.dim}-d in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    results: dict[str, dict] = {}
    for kind in backends:
        n = args.local_n if kind == "local" else args.n
        sub = slice_catalogue(cat, n)
        # Filters from their own seed per size, so backends at the same n get the same filters.
        filters = random_filters(sub, args.queries, np.random.default_rng(args.seed + n))
        build_s, ref = timed(lambda sub=sub: NumpyIndex(sub))
        masks = [mask_of(sub, f) for f in filters]
        truth = {
            "dense": [
                {sub.ids[i] for i in ref.dense("image", q.image, m, 10)}
                for q, m in zip(queries, masks, strict=True)
            ],  # type: ignore[attr-defined]
            "hybrid": [
                {sub.ids[i] for i in ref.hybrid(q.image, q.text, q.lexical, m, 10)}
                for q, m in zip(queries, masks, strict=True)
            ],  # type: ignore[attr-defined]
        }
        print(f"running {kind} at {n} points ...", file=sys.stderr)
        if kind == "numpy":
            res: dict[str, object] = {"n": n, "build_s": round(build_s, 2)}
            res.update(run_queries(numpy_search(ref), queries, filters, truth))  # type: ignore[arg-type]
            results[kind] = res
        else:
            results[kind] = bench_backend(kind, sub, n, args, queries, filters, truth)
        print(json.dumps({kind: results[kind]}), file=sys.stderr)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def slice_catalogue(cat: Catalogue, n: int) -> Catalogue:
    return Catalogue(
        cat.ids[:n], cat.image[:n], cat.text[:n], {k: v[:n] for k, v in cat.codes.items()},
        cat.price[:n], cat.term_ids[:n], cat.term_w[:n],
    )  # fmt: skip


def numpy_search(ref: NumpyIndex) -> Callable[[Query, SearchFilter | None, bool], list[str]]:
    def search(q: Query, flt: SearchFilter | None, hybrid: bool) -> list[str]:
        mask = None if flt is None else mask_of(ref.cat, flt)
        rows = (
            ref.hybrid(q.image, q.text, q.lexical, mask, 10)
            if hybrid
            else ref.dense("image", q.image, mask, 10)
        )
        return [ref.cat.ids[i] for i in rows]

    return search


def print_table(results: dict[str, dict]) -> None:
    cols = ["dense_unfiltered", "dense_filtered", "hybrid_unfiltered", "hybrid_filtered"]
    head = f"{'backend':8} {'n':>7} {'load s':>7} {'optim s':>8} " + " ".join(f"{c:>22}" for c in cols)
    print(head + "  recall@10 dense/hybrid (filtered)")
    for kind, r in results.items():
        load = r.get("upsert_s", r.get("build_s", math.nan))
        cells = " ".join(f"{r[c]['p50_ms']:>9.2f} / {r[c]['p95_ms']:>8.2f} ms" for c in cols)
        recall = f"{r['dense_filtered_recall@10']} / {r['hybrid_filtered_recall@10']}"
        print(f"{kind:8} {r['n']:>7} {load:>7} {r.get('optimize_s', '-'):>8} {cells}  {recall}")
    print("latency cells: p50 / p95 through the VectorIndex interface; recall against exact numpy")
    edge = results.get("edge")
    others = [k for k, r in results.items() if k != "edge" and edge and r["n"] == edge["n"]]
    if others:  # same vectors, filters and queries: how many times slower than ClipShoe's index
        print(f"p95 latency as a multiple of edge's (same {edge['n']} points, same queries and filters):")
        for kind in others:
            ratios = " ".join(
                f"{c}={results[kind][c]['p95_ms'] / max(edge[c]['p95_ms'], 1e-9):.1f}x" for c in cols
            )
            print(f"  {kind:8} {ratios}")


if __name__ == "__main__":
    main()
