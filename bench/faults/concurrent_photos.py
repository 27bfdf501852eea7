"""Probe: two feed tasks of one worker process storing the same photos at once.

    python bench/faults/concurrent_photos.py --runs 5      # exit 1 and a thread dump on a hang

The same photo feed is submitted as two jobs to a worker running Celery's thread pool, `--runs`
times, each on a fresh stack (tests/faults/stack.py); with `--together` both feed tasks are held
and let go at the same instant. Each chunk of a feed is one database transaction, and both tasks
share the process's PhotoStore, whose lock `PhotoStore._batch` holds while it inserts the photo
row. Thread A, holding that lock, can wait in Postgres for thread B's open transaction (B stored
the same photo first) while B waits for the lock to store its next photo: Python's lock is one
side of the cycle, so Postgres cannot break it. This hang was seen once (docs/faults.md); most
runs end with both jobs completed, because the two tasks usually also wait on each other inside
Postgres, which detects that deadlock, aborts one transaction, and the feed task retries it.

`clipshoe worker` runs such a thread pool by default with the embedded store (2 tasks at once);
prefork workers (`--pool prefork`, the default with a Qdrant server) have a store per process and
cannot hang this way. tests/faults/test_concurrent_ingest.py covers two jobs at once with listings
without photos. Exits 0 when every run completes with each product stored once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("CLIPSHOE_DATABASE__URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

from tests.faults.stack import (
    READING_THE_FEED,
    assert_stored_once,
    fault_stack,
    photo_feed,
    stalled_together,
)


def run_once(args: argparse.Namespace, run: int) -> bool:
    """One run; False on a hang (after printing the worker's threads)."""
    with (
        tempfile.TemporaryDirectory(prefix="clipshoe-photos-") as tmp,
        fault_stack(Path(tmp), f"photos{run}", batch_size=args.batch_size) as stack,
    ):
        feed = photo_feed(Path(tmp) / "feed", "samephotos", args.n)
        worker = stack.worker("--concurrency", "4", PYTHONFAULTHANDLER="1")
        try:
            jobs = [stack.submit(feed), stack.submit(feed)]
            if args.together:
                with stalled_together(stack, jobs, READING_THE_FEED):
                    pass
            deadline = time.monotonic() + args.timeout
            while True:
                states = [stack.job(j) for j in jobs]
                if all(j.status in ("completed", "failed") for j in states):
                    break
                if time.monotonic() > deadline:
                    progress = ", ".join(f"job {j.id}: read {j.read}/{j.total}" for j in states)
                    print(f"run {run}: HANG after {args.timeout:.0f}s ({progress}); the worker's threads:")
                    os.kill(worker.pid, signal.SIGABRT)  # faulthandler dumps every thread to the log
                    worker.proc.wait(timeout=30)
                    print(worker.tail(12000))
                    return False
                time.sleep(0.5)
        finally:
            worker.kill()
        counts = "; ".join(f"job {j.id} {j.status}: {j.indexed} indexed, {j.failed} failed" for j in states)
        print(f"run {run}: {counts}", flush=True)
        assert all(j.status == "completed" for j in states), [j.message for j in states]
        assert_stored_once(stack, "samephotos", args.n)
        return True


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=64, help="listings (each with its photo) in the feed")
    parser.add_argument("--batch-size", type=int, default=32, help="items per chunk (one transaction)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds before calling a run a hang")
    parser.add_argument(
        "--together",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="hold both feed tasks and let them go at the same instant (default: as they come)",
    )
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        if not run_once(args, run):
            return 1
    print(f"no hang in {args.runs} runs; every product stored once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
