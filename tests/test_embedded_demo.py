"""The embedded default, as a new user runs it: `clipshoe demo` with no configuration at all
(SQLite file, Qdrant's embedded engine, in-process tasks), then real HTTP requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_a_generated_catalogue(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOE_")}
    env["CLIPSHOE_DATA_DIR"] = str(tmp_path / "var")
    port = _free_port()
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "clipshoe.cli", "demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "demo did not start serving in time"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        health = httpx.get(f"{base}/healthz").json()
        assert health["products"] > 0 and health["indexed_points"] == health["products"]
        body = httpx.get(f"{base}/search", params={"q": "black sneakers", "price_max": 5000}).json()
        assert body["hits"] and all(h["price"] <= 5000 for h in body["hits"])
        assert httpx.get(body["hits"][0]["photo_url"]).status_code == 200
        assert (tmp_path / "var" / "clipshoe.db").is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
