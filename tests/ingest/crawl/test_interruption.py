"""SIGKILL the crawler at random points, ten times, resuming each time: at the end every product
is in the feed exactly once, and the feed reads cleanly.

The crawler runs as `clipshoe crawl run` in a subprocess against the fake marketplace.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from ingest.crawl import load_report
from ingest.feeds import read_feed
from ingest.records import ProductRecord
from tests.ingest.crawl.fake_market import FakeMarket, serving

QUERIES = ["giày thể thao nam", "giày cao gót", "dép sandal"]
PAGES = 15  # 45 listing pages: more than ten kills can let through (≤ 4 each), so none finishes early
KILLS = 10
REPO = Path(__file__).resolve().parents[3]


def run_and_kill(
    command: list[str], folder: Path, market: FakeMarket, rng: random.Random
) -> tuple[bool, str]:
    """Start the crawl and SIGKILL it at a random point; whether it was still running, and its stderr.

    Half the kills come after 0-2 more listing requests reached the server and a few random
    milliseconds (start-up, mid-request, mid-parse); the others as soon as the feed grows, which
    lands between a page's products and its checkpoint: the tail a resume must roll back.
    """
    feed = folder / "products.jsonl"
    size = feed.stat().st_size if feed.exists() else 0
    target = len(market.listing_requests()) + rng.randint(0, 2)
    on_write = rng.random() < 0.5
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60  # a guard against a hung test, not a timing assertion
    while process.poll() is None:
        if on_write and feed.exists() and feed.stat().st_size > size:
            break
        if not on_write and len(market.listing_requests()) >= target:
            time.sleep(rng.uniform(0, 0.01))
            break
        assert time.monotonic() < deadline, "the crawler made no progress"
        time.sleep(0.0005)
    running = process.poll() is None
    process.kill()  # SIGKILL: no handler, no flush, no cleanup
    _, stderr = process.communicate()
    return running, stderr.decode()


def test_a_crawl_killed_ten_times_resumes_without_losing_or_duplicating(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    folder = tmp_path / "crawl"
    with serving(FakeMarket(pages=PAGES, per_page=3, delay=0.02)) as market:
        command = [sys.executable, "-m", "clipshoe.cli", "crawl", "run", "--site", "tiki"]
        command += [arg for q in QUERIES for arg in ("--query", q)]
        command += ["--pages", str(PAGES), "--out", str(folder), "--base-url", market.url]
        command += ["--rate", "1000", "--concurrency", "2"]
        for kill in range(KILLS):
            running, stderr = run_and_kill(command, folder, market, rng)
            assert running, f"seed {seed}, kill {kill}: the crawler exited by itself: {stderr}"
            started = (folder / "checkpoint.json").exists()  # not when killed during start-up
            assert not (started and load_report(folder).complete), f"seed {seed}: done before kill {kill}"
        final = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, f"seed {seed}: {final.stdout}\n{final.stderr}"

    expected = market.expected_ids(QUERIES)
    lines = (folder / "products.jsonl").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["source_id"] for line in lines]
    assert len(ids) == len(set(ids)), f"seed {seed}: duplicated products"
    assert set(ids) == expected, f"seed {seed}: missing {sorted(expected - set(ids))[:5]}"
    feed = list(read_feed(folder / "products.jsonl"))
    assert len(feed) == len(expected) and all(isinstance(r, ProductRecord) for r in feed)
    errors = [json.loads(line) for line in (folder / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(e["kind"] for e in errors) == ["item"] * len(QUERIES)  # each page-1 reject, once
    report = load_report(folder)
    assert report.complete and report.counters["products"] == len(expected)
