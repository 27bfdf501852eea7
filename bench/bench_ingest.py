"""End-to-end ingest throughput with a real Celery worker, against the encoder alone.

    python bench/bench_ingest.py --catalog ../shared/data/myntra-footwear/styles.csv --n 2000

1. The catalogue's first ``--n`` rows go into a feed; a `clipshoe worker` subprocess (Redis
   broker, PostgreSQL catalogue, embedded vector store owned by the worker) ingests it:
   read, validate and store photos, upsert rows, embed in batches, upsert points. Timed from
   the job's submission to its completion (worker start-up and model loading excluded: the
   worker is warmed by a one-product job first).
2. The encoder alone on the same products: photos decoded and the same texts the pipeline
   embeds, `encode_images` + `encode_texts` at the configured batch size; measured right before
   and right after the ingest (while the idle worker waits), and averaged.

Prints products/s for both and their ratio (issue target: ingest ≥ 80% of the encoder alone),
and the worker's seconds per task kind (feed stage vs embed tasks, from its log). With
``--diagnose``, also the embed tasks' `build_points` over the ingested products in this plain
process: the encoder's share of an embed task, without the worker around it.
Needs PostgreSQL (database ``--database``, created if missing) and Redis on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def subset(catalog: Path, n: int, out: Path) -> Path:
    """The first n rows of a styles.csv, photo paths made absolute so the copy reads anywhere."""
    with catalog.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r, _ in zip(reader, range(n), strict=False)]
        fields = reader.fieldnames or []
    for r in rows:
        if r.get("image"):
            r["image"] = str((catalog.parent / r["image"]).resolve())
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    return out


def fresh_database(name: str) -> str:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def run_job(rt, feed: Path, timeout: float = 3600) -> float:
    from catalog import repository
    from workers.dispatch import submit_job

    with rt.sessions.begin() as s:
        job = repository.create_job(s, str(feed), None, None, "bulk")
    t0 = time.perf_counter()
    submit_job(rt, job.id)
    while time.perf_counter() - t0 < timeout:
        with rt.sessions() as s:
            status = repository.get_job(s, job.id).status
        if status in ("completed", "failed"):
            if status == "failed":
                raise RuntimeError(f"job {job.id} failed")
            return time.perf_counter() - t0
        time.sleep(0.2)
    raise TimeoutError(f"job {job.id} still running after {timeout} s")


def encoder_alone(feed: Path, model: str, batch_size: int) -> float:
    """Seconds to embed the feed's products (photos + texts) with the encoder, nothing else."""
    from catalog.models import Product
    from encoder.registry import create_encoder
    from ingest.feeds import FeedError, read_feed
    from search.indexing import dense_text

    encoder = create_encoder(model).ensure_loaded()
    records = [r for r in read_feed(feed) if not isinstance(r, FeedError)]
    photos = [Image.open(r.image).convert("RGB") for r in records if r.image]
    texts = [dense_text(Product(**r.model_dump(exclude={"image"}))) for r in records]
    encoder.encode_images(photos[:batch_size], batch_size)  # warm-up
    t0 = time.perf_counter()
    encoder.encode_images(photos, batch_size)
    encoder.encode_texts(texts, batch_size)
    return time.perf_counter() - t0


def stage_seconds(worker_log: Path) -> dict[str, float]:
    """Seconds the worker spent in each task kind (Celery logs every task's run time), warm-up
    job included: where an ingest's time goes, feed stage vs embed tasks."""
    pattern = re.compile(r"Task (clipshoe\.[\w.]+)\[[^\]]*\] succeeded in ([0-9.]+)s")
    totals: dict[str, float] = {}
    for name, seconds in pattern.findall(worker_log.read_text(errors="replace")):
        totals[name] = round(totals.get(name, 0.0) + float(seconds), 1)
    return totals


def build_points_in_process(rt, batch: int) -> float:
    """Seconds for `build_points` over the ingested products, in ingest-sized batches, in this
    (plain) process: the embed tasks' encoder work without the worker around it."""
    from sqlalchemy import select

    from catalog.models import Product
    from search import indexing

    with rt.sessions() as s:
        products = list(s.scalars(select(Product).order_by(Product.id)))
        s.expunge_all()
    encoder = rt.encoder.ensure_loaded()
    size = rt.settings.encoder.batch_size
    indexing.build_points(products[:size], encoder, rt.settings.media_dir, size)  # warm-up
    t0 = time.perf_counter()
    for a in range(0, len(products), batch):
        indexing.build_points(products[a : a + batch], encoder, rt.settings.media_dir, size)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", type=Path, default=Path("../shared/data/myntra-footwear/styles.csv"))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--model", default="default")
    ap.add_argument("--database", default="clipshoe_bench_ingest")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--concurrency", type=int, help="worker tasks at once (default: the worker's)")
    ap.add_argument("--pool", default="prefork", help="worker pool: prefork or threads")
    ap.add_argument(
        "--diagnose",
        action="store_true",
        help="also time the embed tasks' build_points in this plain process (≈ the encoder-alone time again)",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    feed = subset(args.catalog, args.n, tmp / "feed" / "styles.csv")
    warm = subset(args.catalog, 1, tmp / "warm" / "styles.csv")
    env = {
        **os.environ,
        "CLIPSHOE_DATA_DIR": str(tmp / "data"),
        "CLIPSHOE_DATABASE__URL": fresh_database(args.database),
        "CLIPSHOE_BROKER__URL": args.redis,
        "CLIPSHOE_ENCODER__MODEL": args.model,
    }
    os.environ.update(env)
    subprocess.run(["redis-cli", "-u", args.redis, "FLUSHDB"], check=True, capture_output=True)
    from catalog.db import migrate
    from clipshoe.runtime import Runtime
    from clipshoe.settings import Settings

    rt = Runtime(Settings())
    migrate(rt.settings)
    log = (tmp / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/clipshoe"), "worker", "--pool", args.pool]
        + (["--concurrency", str(args.concurrency)] if args.concurrency else []),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    batch = rt.settings.encoder.batch_size
    try:
        run_job(rt, warm)  # worker up, model loaded, collection created
        # The encoder alone before and after the ingest, averaged: this VM's speed drifts by
        # ±10 % over minutes, and one measurement on one side biased the ratio either way.
        alone_before = encoder_alone(feed, args.model, batch)
        ingest_s = run_job(rt, feed)
    finally:
        worker.terminate()
        worker.wait(60)
    alone_after = encoder_alone(feed, args.model, batch)
    alone_s = (alone_before + alone_after) / 2
    stages = stage_seconds(tmp / "worker.log")
    diagnosis = {}
    if args.diagnose:
        in_process = build_points_in_process(rt, rt.settings.ingest.batch_size)
        diagnosis = {"build_points_in_process_s": round(in_process, 1)}
    out = {
        "products": args.n,
        "ingest_s": round(ingest_s, 1),
        "ingest_products_per_s": round(args.n / ingest_s, 1),
        "encoder_alone_s": round(alone_s, 1),
        "encoder_alone_before_after_s": [round(alone_before, 1), round(alone_after, 1)],
        "encoder_products_per_s": round(args.n / alone_s, 1),
        "ratio": round(alone_s / ingest_s, 3),
        "batch_size": batch,
        "worker_pool": args.pool,
        "worker_concurrency": args.concurrency or "default",
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "worker_task_s": stages,
        **diagnosis,
        "worker_log": str(tmp / "worker.log"),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
