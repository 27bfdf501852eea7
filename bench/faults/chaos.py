"""Chaos soak: one larger ingest under repeated faults, then exactly-once checked.

    python bench/faults/chaos.py --n 400 --faults 6 --seed 1

A private stack (tests/faults/stack.py: a database of its own, a private `redis-server` with an
append-only file, `clipshoe worker` processes, the embedded vector store) ingests an `--n`-product
feed. Each time another share of the job's batches is done, one fault drawn at random strikes, at
whatever point the worker happens to be (the CI tests in tests/faults/ strike at chosen points
instead):

  pool    SIGKILL the pool process running the task (the worker hands the task back at once)
  worker  SIGKILL the whole worker and start a new one (the task returns after the visibility
          timeout, 20 s here)
  redis   SIGKILL Redis and start it again 2 s later (its append-only file keeps the queues)
  pg      terminate every Postgres connection of the stack

At the end: the job completed, nothing failed, one row and one point per product, each batch
counted once. Prints each fault, when it struck and how long the job took. Needs PostgreSQL on
127.0.0.1 (CLIPSHOE_DATABASE__URL to use another) and `redis-server` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("CLIPSHOE_DATABASE__URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

from tests.faults.stack import (
    FaultStack,
    assert_completed,
    assert_stored_once,
    fault_stack,
    photo_feed,
    wait_until,
)

FAULTS = ("pool", "worker", "redis", "pg")
VISIBILITY = "20"


def strike(kind: str, stack: FaultStack, workers: list) -> None:  # type: ignore[type-arg]
    worker = workers[-1]
    if kind == "pool":
        for child in worker.children():
            os.kill(child, signal.SIGKILL)
    elif kind == "worker":
        worker.kill()
        workers.append(stack.worker(CLIPSHOE_BROKER__VISIBILITY_TIMEOUT=VISIBILITY))
    elif kind == "redis":
        stack.redis.stop(signal.SIGKILL)
        time.sleep(2)
        stack.redis.start()
    elif kind == "pg":
        stack.terminate_backends()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400, help="products in the feed")
    parser.add_argument("--faults", type=int, default=6, help="faults to strike during the job")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the job may take")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with (
        tempfile.TemporaryDirectory(prefix="clipshoe-chaos-") as tmp,
        fault_stack(Path(tmp), "chaos", batch_size=args.batch_size) as stack,
    ):
        feed = photo_feed(Path(tmp) / "feed", "chaos", args.n)
        workers = [stack.worker(CLIPSHOE_BROKER__VISIBILITY_TIMEOUT=VISIBILITY)]
        started = time.monotonic()
        job_id = stack.submit(feed)
        try:
            wait_until(lambda: stack.job(job_id).batches_total, "the first batches", timeout=300)
            total = -(-args.n // args.batch_size)
            marks = [total * (k + 1) // (args.faults + 1) for k in range(args.faults)]
            for mark in marks:

                def reached(m: int = mark) -> bool:
                    job = stack.job(job_id)
                    return job.batches_done >= m or job.status != "running"

                wait_until(reached, f"{mark} batches", timeout=args.timeout, every=0.2)
                if stack.job(job_id).status != "running":
                    break
                kind = rng.choice(FAULTS)
                print(f"{time.monotonic() - started:7.1f}s  batch {mark}/{total}: {kind}", flush=True)
                strike(kind, stack, workers)
            job = stack.wait_job(job_id, workers[-1], timeout=args.timeout)
        finally:
            for w in workers:
                w.stop()
        took = time.monotonic() - started
        print(f"job {job.status} in {took:.1f}s: {job.indexed} indexed, {job.failed} failed")
        assert_completed(stack, job_id, args.n)
        assert_stored_once(stack, "chaos", args.n)
        print(f"exactly once: {args.n} rows, {args.n} points")


if __name__ == "__main__":
    main()
