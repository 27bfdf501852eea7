"""Latency of filtered text search over HTTP against a running ClipShoe API.

    scripts/demo --catalog ../shared/data/myntra-footwear/styles.csv   # in another shell
    .venv/bin/python bench/bench_search_http.py --url http://127.0.0.1:8000 --n 300

Sends requests one at a time (latency, not throughput): text queries in English and Vietnamese
with random brand / gender / price filters, query encoding included. Prints p50/p95/p99.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import httpx

QUERIES = [
    "black running shoes", "white leather sneakers", "brown formal shoes for men", "women's red heels",
    "giày thể thao nam màu đen", "giay cao got nu", "dép xỏ ngón", "blue casual shoes", "sandals for women",
    "giày tây nam màu nâu", "grey sports shoes", "flip flops",
]  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="hybrid")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with httpx.Client(base_url=args.url, timeout=30) as client:
        brands = list(client.get("/search/facets").json()["brand"])
        for _ in range(5):  # warm-up: model loaded, caches filled
            client.get("/search", params={"q": "shoes"})
        lat: list[float] = []
        hits: list[int] = []
        for _ in range(args.n):
            params: dict = {"q": rng.choice(QUERIES), "mode": args.mode, "limit": 20}
            params["brand"] = rng.sample(brands, rng.randint(1, 3))
            if rng.random() < 0.5:
                params["price_max"] = rng.choice([1000, 2000, 5000])
            if rng.random() < 0.3:
                params["gender"] = rng.choice(["men", "women"])
            t0 = time.perf_counter()
            r = client.get("/search", params=params)
            lat.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            hits.append(len(r.json()["hits"]))
    out = {
        "n": args.n,
        "mode": args.mode,
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "mean_ms": round(statistics.fmean(lat), 1),
        "mean_hits": round(statistics.fmean(hits), 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
