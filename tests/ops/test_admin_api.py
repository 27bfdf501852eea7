"""A model upgrade with no downtime in embedded mode, through the admin endpoints of a running server.

`clipshoe serve` runs as a user runs it with no broker: a SQLite file and the embedded vector store,
which only that process may open. A generated catalogue is ingested through it with one tiny
model; while a thread searches without pause, `POST /admin/reindex` upgrades to another tiny model
in the server's own background thread. No search fails, none mixes models, the swap happens, and
rollback (through `clipshoe rollback --url`) brings the old answers back. The CLI run locally
meanwhile finds the store held and says to use `--url`. Last, the same endpoints on the session's
stack with a broker, where the Celery worker embeds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import clipshoe.runtime
from catalog import repository
from catalog.db import get_engine, migrate
from clipshoe.cli import app
from clipshoe.commands.evaluation import scratch_settings
from clipshoe.runtime import Runtime, get_runtime
from clipshoe.settings import Settings
from ingest.sample import generate_sample_catalog
from tests.faults.stack import GLIBC_TUNABLES, ApiProcess, wait_until
from tests.ops.helpers import assert_one_clean_swap
from workers import reindex

QUERIES = (
    ("black running shoes", "hybrid"),
    ("giày thể thao nam", "hybrid"),
    ("white leather sneakers", "dense"),
    ("sandals for women", "image"),
)
Answer = tuple[str, list[int]]  # (model version, hit ids)


@dataclass
class Server:
    url: str
    key: str
    settings: Settings  # the server's own: the same SQLite file and store folder

    def http(self, key: bool = True) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, headers={"X-API-Key": self.key} if key else {})


def ask(http: httpx.Client, q: str, mode: str) -> tuple[int, Any]:
    r = http.get("/search", params={"q": q, "mode": mode, "limit": 10})
    return r.status_code, r.json()


def answers(http: httpx.Client) -> dict[tuple[str, str], Answer]:
    out = {}
    for q, mode in QUERIES:
        status, body = ask(http, q, mode)
        assert status == 200, body
        out[(q, mode)] = (body["model_version"], [h["id"] for h in body["hits"]])
    return out


def follow(http: httpx.Client, op: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        now = http.get(f"/admin/operations/{op['id']}").json()
        return None if now["status"] == "running" else now

    return wait_until(ended, f"operation {op['id']} to end", timeout=timeout, every=0.2)  # type: ignore[return-value]


def live_version(http: httpx.Client) -> str:
    return http.get("/healthz").json()["model_version"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_models: tuple[str, str]) -> Iterator[Server]:
    """`clipshoe serve`, embedded (no broker, SQLite, embedded store), with an API key and a
    catalogue of 24 generated products ingested through its API."""
    root = tmp_path_factory.mktemp("admin_api")
    settings = scratch_settings(root / "data", tiny_models[0], "cpu")
    migrate(settings)
    with Runtime(settings).sessions.begin() as s:
        key = repository.create_api_key(s, "test")  # from now on writes and admin calls need it
    get_engine(settings).dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOE_")}
    env |= {
        "CLIPSHOE_DATA_DIR": str(settings.data_dir),
        "CLIPSHOE_DATABASE__URL": settings.database_url,
        "CLIPSHOE_ENCODER__MODEL": tiny_models[0],
        "CLIPSHOE_ENCODER__DEVICE": "cpu",
        "CLIPSHOE_INGEST__BATCH_SIZE": "8",
        "GLIBC_TUNABLES": GLIBC_TUNABLES,
    }
    api = ApiProcess(env, root / "api.log")
    try:
        api.wait_serving()
        srv = Server(api.url, key, settings)
        # <data_dir>/feeds: where a server reads API-submitted feeds from by default
        feed = generate_sample_catalog(settings.data_dir / "feeds" / "catalogue", n=24, seed=5)
        with srv.http() as http:
            r = http.post("/ingest/jobs", json={"feed": str(feed)})
            assert r.status_code == 202, r.text
            job = r.json()

            def ingested() -> bool:
                return http.get(f"/ingest/jobs/{job['id']}").json()["status"] in ("completed", "failed")

            wait_until(ingested, "the catalogue to be ingested", timeout=300, every=0.25)
            assert http.get(f"/ingest/jobs/{job['id']}").json()["indexed"] == 24, api.tail()
        yield srv
    finally:
        api.stop()


def test_admin_endpoints_need_the_key(server: Server) -> None:
    with server.http(key=False) as http:
        calls = (("POST", "/admin/reindex"), ("GET", "/admin/models"), ("POST", "/admin/rollback"))
        for method, path in calls:
            r = http.request(method, path, json={})
            assert r.status_code == 401 and "API key" in r.json()["detail"], (path, r.text)
        r = http.get("/admin/models", headers={"X-API-Key": "not-a-key"})
        assert r.status_code == 401 and "invalid" in r.json()["detail"]


def test_refusals_are_clear_and_change_nothing(server: Server, tiny_models: tuple[str, str]) -> None:
    with server.http() as http:
        before = http.get("/admin/models").json()
        r = http.post("/admin/reindex", json={"model": "no-such-model"})
        assert r.status_code == 422 and "unknown encoder 'no-such-model'" in r.json()["detail"]
        r = http.post("/admin/reindex", json={"model": f"hf:{server.settings.data_dir}/missing"})
        assert r.status_code == 422 and "cannot load model" in r.json()["detail"]
        r = http.post("/admin/reindex", json={"model": tiny_models[0]})
        assert r.status_code == 409 and "already live" in r.json()["detail"]
        r = http.post("/admin/rollback")
        assert r.status_code == 409 and "no previous model version" in r.json()["detail"]
        assert http.get("/admin/operations/nope").status_code == 404
        assert http.get("/admin/models").json() == before
        assert [m["state"] for m in before] == ["live"]


@pytest.fixture(scope="module")
def upgrade(server: Server, tiny_models: tuple[str, str]) -> Iterator[dict[str, Any]]:
    """`POST /admin/reindex` to the second tiny model while a thread searches without pause."""
    http = server.http()
    old = live_version(http)
    before = answers(http)
    seen: list[tuple[tuple[str, str], int, Any]] = []
    stop = threading.Event()

    def traffic() -> None:
        with server.http(key=False) as searcher:
            while not stop.is_set():
                for q, mode in QUERIES:
                    status, body = ask(searcher, q, mode)
                    seen.append(((q, mode), status, body))

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        while len(seen) < len(QUERIES):
            time.sleep(0.05)  # traffic before the upgrade starts
        started = http.post("/admin/reindex", json={"model": tiny_models[1]})
        assert started.status_code == 202, started.text
        # The build includes a 2 s wait for every process to see the swap: this one is still running.
        second = http.post("/admin/reindex", json={"model": tiny_models[1]})
        op = follow(http, started.json())
        swapped_at = len(seen)
        wait_until(lambda: len(seen) >= swapped_at + 2 * len(QUERIES), "traffic after the swap", timeout=120)
    finally:
        stop.set()
        thread.join(timeout=120)
    yield {
        "old": old,
        "before": before,
        "after": answers(http),
        "started": started.json(),
        "second": second,
        "op": op,
        "seen": seen,
    }
    http.close()


def test_no_search_fails_or_mixes_models_during_the_upgrade(upgrade: dict[str, Any]) -> None:
    op = upgrade["op"]
    assert op["status"] == "succeeded", op
    old, new = upgrade["old"], op["version"]
    assert new != old
    assert_one_clean_swap(upgrade, old, new)


def test_the_operation_reports_and_the_registry_follows(server: Server, upgrade: dict[str, Any]) -> None:
    started, op, second = upgrade["started"], upgrade["op"], upgrade["second"]
    assert started["kind"] == "reindex" and started["status"] == "running"
    assert started["url"].endswith(f"/admin/operations/{started['id']}")
    assert second.status_code == 409 and "is running" in second.json()["detail"]
    report = op["result"]
    assert report["swapped"] and report["problems"] == [] and report["points"] == report["products"] == 24
    assert op["progress"]["done"] == op["progress"]["total"] > 0 and op["model_state"] == "live"
    with server.http() as http:
        health = http.get("/healthz").json()
        assert health["model_version"] == op["version"] and health["model"] == op["model"]
        states = {m["version"]: m["state"] for m in http.get("/admin/models").json()}
        assert states == {upgrade["old"]: "previous", op["version"]: "live"}
        assert http.get("/admin/operations").json()[0]["id"] == op["id"]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_the_cli_drives_the_server_and_says_so_when_the_store_is_held(
    server: Server, upgrade: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLIPSHOE_API_KEY", raising=False)
    local = Runtime(server.settings)
    monkeypatch.setattr(clipshoe.runtime, "_runtime", local)  # what get_runtime() hands the commands
    try:
        r = run("doctor")
        assert r.exit_code == 1 and "owned by another process" in r.output, r.output
        assert "clipshoe doctor --url" in r.output and "Traceback" not in r.output
    finally:
        local.close()
        get_engine(server.settings).dispose()

    url, key = ("--url", server.url), ("--api-key", server.key)
    r = run("rollback", *url)
    assert r.exit_code == 1 and "401" in r.output and "--api-key" in r.output
    r = run("reindex", "--model", "no-such-model", *url, *key)
    assert r.exit_code == 1 and "unknown encoder" in r.output

    r = run("rollback", *url, *key)
    assert r.exit_code == 0 and f"{upgrade['old']} is live again" in r.stdout, r.output
    with server.http() as http:
        assert answers(http) == upgrade["before"]
        assert live_version(http) == upgrade["old"]

    r = run("doctor", *url, *key)
    assert r.exit_code == 0 and "clean" in r.stdout, r.output
    r = run("doctor", "--repair", "--json", *url, *key)
    assert r.exit_code == 0, r.output
    r = run("models", "list", *url, *key)
    assert r.exit_code == 0 and r.stdout.startswith("live") and "previous" in r.stdout
    r = run("prune", "--include-previous", *url, *key)
    new_collection = upgrade["op"]["result"]["collection"]
    assert r.exit_code == 0 and f"deleted 1 collection(s)\n  {new_collection}" in r.stdout
    r = run("rollback", *url, *key)
    assert r.exit_code == 1 and "no previous model version" in r.output


def test_healthz_reports_the_live_version(server: Server) -> None:
    with server.http(key=False) as http:
        health = http.get("/healthz").json()
        _, body = ask(http, "black running shoes", "hybrid")
    assert health["model_version"] == body["model_version"] and health["indexed_points"] == 24
    assert Path(health["model"].removeprefix("hf:")).name == "tiny_a"


def test_with_a_broker_the_workers_embed_and_rollback_restores(
    client: TestClient, catalogue: dict, tiny_models: tuple[str, str]
) -> None:
    """The session's stack (Postgres, Redis, a real Celery worker): the server's thread only
    orchestrates, the `clipshoe.encode.model_batch` tasks embed."""
    rt = get_runtime()
    assert not rt.settings.embedded
    old = reindex.adopt_live(rt)
    assert old is not None
    before = answers(client)
    try:
        r = client.post("/admin/reindex", json={"model": tiny_models[1]})
        assert r.status_code == 202, r.text
        op = follow(client, r.json())
        assert op["status"] == "succeeded" and op["result"]["swapped"], op
        assert op["progress"]["done"] == op["progress"]["total"] > 0
        assert client.get("/healthz").json()["model_version"] == op["version"]
        assert {v for v, _ in answers(client).values()} == {op["version"]}

        r = client.post("/admin/rollback")
        assert r.status_code == 202, r.text
        assert follow(client, r.json())["status"] == "succeeded"
        assert answers(client) == before
    finally:
        # Later test modules expect the session's model to be live.
        if rt.index.resolve_alias(rt.alias) != old.collection:
            reindex.swap(rt, old.id)
