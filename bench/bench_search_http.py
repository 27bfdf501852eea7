"""Latency and throughput of search over HTTP against a running ClipShoe API.

    scripts/demo --catalog ../shared/data/myntra-footwear/styles.csv   # in another shell
    .venv/bin/python bench/bench_search_http.py --url http://127.0.0.1:8000 --n 300
    .venv/bin/python bench/bench_search_http.py --kind photo --photos ../shared/data/myntra-footwear/images
    .venv/bin/python bench/bench_search_http.py --concurrency 8 --n 400         # throughput

`--kind text`: queries in English and Vietnamese with random brand / gender / price filters,
query encoding included. `--kind photo`: photo uploads to /search/image (same filters).
`--concurrency C`: C client threads, each sending one request at a time; reports requests/s
beside p50/p95/p99. The client shares the machine with the server: on a small machine, run it
from another one for clean figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

QUERIES = [
    "black running shoes", "white leather sneakers", "brown formal shoes for men", "women's red heels",
    "giày thể thao nam màu đen", "giay cao got nu", "dép xỏ ngón", "blue casual shoes", "sandals for women",
    "giày tây nam màu nâu", "grey sports shoes", "flip flops",
]  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def price_ceilings(facets: dict) -> list[float]:
    """Three price ceilings a shopper would pick in the catalogue's own currency: the tops of the
    2nd–4th price buckets the API offers (INR 1,000 / 2,000 / 3,000; VND 500k / 1M / 2M). Fixed
    INR ceilings on a VND catalogue would match nothing and flatter the latency."""
    tops = [b["max"] for b in facets.get("price", []) if b.get("max")]
    return tops[1:4] or [1000.0, 2000.0, 5000.0]


def request_params(rng: random.Random, brands: list[str], ceilings: list[float], mode: str) -> dict:
    params: dict = {
        "mode": mode,
        "limit": 20,
        "brand": rng.sample(brands, min(len(brands), rng.randint(1, 3))),
    }
    if rng.random() < 0.5:
        params["price_max"] = rng.choice(ceilings)
    if rng.random() < 0.3:
        params["gender"] = rng.choice(["men", "women"])
    return params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--kind", choices=["text", "photo"], default="text")
    ap.add_argument("--photos", type=Path, help="folder of photos for --kind photo")
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    photos = sorted(args.photos.glob("*.jpg"))[:200] if args.photos else []
    if args.kind == "photo" and not photos:
        ap.error("--kind photo needs --photos DIR with .jpg files")
    photo_bytes = [p.read_bytes() for p in photos]
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=args.url, timeout=60)
        return local.client

    facets = client().get("/search/facets").json()
    brands, ceilings = list(facets["brand"]), price_ceilings(facets)
    cases = []
    for _ in range(args.n):
        params = request_params(rng, brands, ceilings, args.mode)
        if args.kind == "text":
            params["q"] = rng.choice(QUERIES)
            cases.append((params, None))
        else:
            cases.append((params, rng.choice(photo_bytes)))

    def send(case: tuple[dict, bytes | None]) -> tuple[float, int]:
        params, photo = case
        t0 = time.perf_counter()
        if photo is None:
            r = client().get("/search", params=params)
        else:
            r = client().post("/search/image", params=params, files={"file": ("q.jpg", photo, "image/jpeg")})
        elapsed = (time.perf_counter() - t0) * 1000
        r.raise_for_status()
        return elapsed, len(r.json()["hits"])

    for case in cases[:5]:  # warm-up: model loaded, caches filled
        send(case)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        results = list(pool.map(send, cases))
    wall = time.perf_counter() - t0
    lat = [r[0] for r in results]
    hits = [r[1] for r in results]
    out = {
        "n": args.n,
        "kind": args.kind,
        "mode": args.mode,
        "concurrency": args.concurrency,
        "requests_per_s": round(args.n / wall, 1),
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "mean_ms": round(statistics.fmean(lat), 1),
        "mean_hits": round(statistics.fmean(hits), 1),
        "price_ceilings": ceilings,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
