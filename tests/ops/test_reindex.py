"""A model upgrade under live search traffic, through the real Celery worker and the API: no search
fails and none mixes models; rollback brings the old answers back; prune deletes only what it may.

The session catalogue is live with the default model; the upgrade goes to a tiny model of another
dimension, so a query encoded by one model against the other's vectors could not even run.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog import repository
from catalog.models import ModelState
from clipshoe.cli import app
from clipshoe.runtime import get_runtime
from tests.ops.helpers import assert_one_clean_swap
from workers import reindex
from workers.reindex import OpsError

QUERIES = (
    ("black running shoes", "hybrid"),
    ("giày thể thao nam", "hybrid"),
    ("white leather sneakers", "dense"),
    ("sandals for women", "image"),
)
Answer = tuple[str, list[int]]  # (model version, hit ids)


def ask(client: TestClient, q: str, mode: str) -> tuple[int, Any]:
    r = client.get("/search", params={"q": q, "mode": mode, "limit": 10})
    return r.status_code, r.json()


def answers(client: TestClient) -> dict[tuple[str, str], Answer]:
    out = {}
    for q, mode in QUERIES:
        status, body = ask(client, q, mode)
        assert status == 200, body
        out[(q, mode)] = (body["model_version"], [h["id"] for h in body["hits"]])
    return out


def states() -> dict[str, str]:
    with get_runtime().sessions() as s:
        return {m.version: m.state for m in repository.list_models(s)}


@pytest.fixture(scope="module")
def upgrade(client: TestClient, catalogue: dict, tiny_models: tuple[str, str]) -> Iterator[dict[str, Any]]:
    """Reindex to a tiny model while a thread searches through the API without pause."""
    rt = get_runtime()
    old = reindex.adopt_live(rt)
    assert old is not None
    before = answers(client)
    seen: list[tuple[tuple[str, str], int, Any]] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            for q, mode in QUERIES:
                status, body = ask(client, q, mode)
                seen.append(((q, mode), status, body))

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        report = reindex.build(rt, tiny_models[1])
        swapped_at = len(seen)
        deadline = time.monotonic() + 120
        while len(seen) < swapped_at + 2 * len(QUERIES) and time.monotonic() < deadline:
            time.sleep(0.1)  # some traffic after the swap too
    finally:
        stop.set()
        thread.join(timeout=120)
    yield {"old": old, "report": report, "before": before, "after": answers(client), "seen": seen}
    # Later test modules expect the session's model to be live again.
    if rt.index.resolve_alias(rt.alias) != old.collection:
        reindex.swap(rt, old.id)


def test_no_search_fails_or_mixes_models_during_the_upgrade(upgrade: dict[str, Any]) -> None:
    assert_one_clean_swap(upgrade, upgrade["old"].version, upgrade["report"].version)


def test_upgrade_registers_verifies_and_keeps_the_old_collection(upgrade: dict[str, Any]) -> None:
    rt, report, old = get_runtime(), upgrade["report"], upgrade["old"]
    assert report.swapped and report.problems == []
    assert report.points == report.products > 0 and report.sampled > 0 and report.min_cosine > 0.99
    assert rt.index.resolve_alias(rt.alias) == report.collection
    assert rt.index.collection_exists(old.collection)  # kept until prune
    assert states()[report.version] == ModelState.live and states()[old.version] == ModelState.previous

    listing = CliRunner().invoke(app, ["models", "list", "--json"])
    assert listing.exit_code == 0, listing.output
    rows = {m["version"]: m for m in json.loads(listing.stdout)}
    assert rows[report.version]["state"] == "live" and rows[report.version]["points"] == report.points
    assert rows[report.version]["checkpoint_hash"] == report.version.rsplit("_", 1)[1]
    assert rows[old.version]["state"] == "previous"


def test_rollback_restores_the_old_answers_then_prune(
    upgrade: dict[str, Any], client: TestClient, tiny_models: tuple[str, str]
) -> None:
    rt, old, new = get_runtime(), upgrade["old"], upgrade["report"]
    with pytest.raises(OpsError, match="already live"):
        reindex.build(rt, tiny_models[1])

    back = reindex.rollback(rt)
    assert back.version == old.version
    assert answers(client) == upgrade["before"]
    assert states()[old.version] == ModelState.live and states()[new.version] == ModelState.previous

    assert reindex.prune(rt) == []  # the previous version stays: it is the way back
    assert rt.index.collection_exists(new.collection)
    assert reindex.prune(rt, include_previous=True) == [new.collection]
    assert not rt.index.collection_exists(new.collection)
    assert states()[new.version] == ModelState.pruned
    assert rt.index.resolve_alias(rt.alias) == old.collection
    with pytest.raises(OpsError, match="no previous model"):
        reindex.rollback(rt)
    assert answers(client) == upgrade["before"]
