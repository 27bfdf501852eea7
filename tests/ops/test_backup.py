"""Backup → wipe → restore: the catalogue (Postgres and SQLite), the embedded vector store and the
photos come back as they were; without the vectors, the index rebuilds from the catalogue alone.

Each test runs a scratch stack of its own (its own database and data folder, a tiny model,
tasks in-process) so that wiping it cannot touch the session's catalogue.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, text

from catalog import repository
from catalog.backup import PG_DUMP, SQLITE_COPY, BackupError, backup, restore, store_lock
from catalog.db import get_engine
from catalog.models import ModelState, Product
from clipshoe.runtime import Runtime
from clipshoe.settings import Settings
from search.service import Mode
from tests.ops.helpers import scratch_stack
from workers import doctor, reindex

QUERIES = ("black running shoes", "giày thể thao nữ", "brown leather boots")


@pytest.fixture(params=["postgres", "sqlite"])
def scratch(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_models: tuple[str, str]
) -> Iterator[Runtime]:
    with scratch_stack(tmp_path, tiny_models[0], postgres=request.param == "postgres") as rt:
        yield rt


def state(rt: Runtime) -> dict[str, Any]:
    """Everything a restore must bring back, as plain data (vectors apart: see `assert_same`)."""
    with rt.sessions() as s:
        rows = s.scalars(select(Product))
        products = sorted((p.source_id, p.title, p.price, p.image_sha256, p.embedded_model) for p in rows)
        models = [(m.name, m.version, m.state, m.collection) for m in repository.list_models(s)]
    live = rt.live.get()
    ids = sorted(rt.index.scroll_ids(live.collection))
    vectors = {p.id: p.vectors for p in rt.index.retrieve(live.collection, ids, with_vectors=True)}
    # Image mode: one nearest search with continuous scores. Fused (RRF) scores tie, and a rebuilt
    # index may break ties in another order.
    answers = {
        q: [h.product.source_id for h in rt.search.search(q, mode=Mode.image, limit=10).hits] for q in QUERIES
    }
    photos = sorted(str(p.relative_to(rt.settings.media_dir)) for p in rt.settings.media_dir.rglob("*.*"))
    return {
        "products": products,
        "models": models,
        "collection": live.collection,
        "points": ids,
        "vectors": {k: {n: np.asarray(v) for n, v in vs.items()} for k, vs in vectors.items()},
        "answers": answers,
        "photos": photos,
    }


def state_of(settings: Settings) -> dict[str, Any]:
    rt = Runtime(settings)
    try:
        return state(rt)
    finally:
        rt.close()


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal, vectors to float precision (a rebuild may batch products differently)."""
    assert a.keys() == b.keys()
    for key in a:
        if key != "vectors":
            assert a[key] == b[key], key
    va, vb = a["vectors"], b["vectors"]
    assert va.keys() == vb.keys()
    for pid in va:
        assert va[pid].keys() == vb[pid].keys(), pid
        for name in va[pid]:
            np.testing.assert_allclose(va[pid][name], vb[pid][name], atol=1e-5)


def wipe(settings: Settings) -> None:
    """Lose everything: the catalogue, the vector store, the photos."""
    get_engine(settings).dispose()
    if settings.database_url.startswith("sqlite"):
        Path(settings.database_url.split("///", 1)[1]).unlink()
    else:
        with get_engine(settings).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        get_engine(settings).dispose()
    shutil.rmtree(settings.qdrant_path)
    shutil.rmtree(settings.media_dir)


def test_backup_wipe_restore_round_trip(scratch: Runtime, tmp_path: Path) -> None:
    before = state(scratch)
    assert len(before["products"]) == 24 and len(before["points"]) == 24
    assert all(before["answers"].values())
    scratch.close()  # the embedded store is copied under its lock: no writer may hold it

    manifest = backup(scratch.settings, tmp_path / "backup")
    assert (tmp_path / "backup" / (SQLITE_COPY if manifest.database == "sqlite" else PG_DUMP)).is_file()
    assert manifest.vector_store == "embedded" and manifest.alias_target == before["collection"]
    assert manifest.media and manifest.schema_revision

    wipe(scratch.settings)
    restore(scratch.settings, tmp_path / "backup")
    assert_same(state_of(scratch.settings), before)


def test_rebuild_from_the_catalogue_alone(scratch: Runtime, tmp_path: Path) -> None:
    """Only Postgres (and the photos) backed up: `reindex --from-db` brings the same search back."""
    before = state(scratch)
    scratch.close()
    manifest = backup(scratch.settings, tmp_path / "backup", vectors=False)
    assert manifest.vector_store is None and not (tmp_path / "backup" / "vectors").exists()
    wipe(scratch.settings)

    with pytest.raises(BackupError, match="holds no vectors"):
        restore(scratch.settings, tmp_path / "backup")
    restore(scratch.settings, tmp_path / "backup", vectors=False)
    rt = Runtime(scratch.settings)
    with rt.sessions() as s:
        live = repository.model_in_state(s, ModelState.live)
    assert live is not None
    report = reindex.build(rt, live.name, rebuild_live=True)
    assert report.swapped and report.points == 24 and report.min_cosine and report.min_cosine > 0.99
    rt.close()
    assert_same(state_of(scratch.settings), before)


def test_doctor_repair_rebuilds_a_lost_index(scratch: Runtime) -> None:
    before = state(scratch)
    scratch.close()
    shutil.rmtree(scratch.settings.qdrant_path)  # the vector store is gone; the catalogue is intact

    rt = Runtime(scratch.settings)
    report = doctor.check(rt)
    assert any("alias" in p and "not set" in p for p in report.problems)
    assert any("does not exist" in p for p in report.problems)
    assert len(report.missing) == 24
    after = doctor.repair(rt, report)
    assert after.clean, after.as_dict()
    rt.close()
    assert_same(state_of(scratch.settings), before)


def test_restore_refuses_what_does_not_fit(scratch: Runtime, tmp_path: Path) -> None:
    """Clear errors, and nothing already stored is touched."""
    with pytest.raises(BackupError, match="not a ClipShoe backup"):
        restore(scratch.settings, tmp_path)
    before = state(scratch)
    with pytest.raises(BackupError, match="open in another process"), store_lock(scratch.settings):
        pass  # this process's runtime holds the store, as a running `clipshoe serve` would
    scratch.close()
    backup(scratch.settings, tmp_path / "backup")
    with pytest.raises(BackupError, match="already exists"):
        backup(scratch.settings, tmp_path / "backup")
    other = "sqlite" if not scratch.settings.database_url.startswith("sqlite") else "postgresql"
    manifest = (
        (tmp_path / "backup" / "manifest.json")
        .read_text()
        .replace(f'"database": "{"postgresql" if other == "sqlite" else "sqlite"}"', f'"database": "{other}"')
    )
    (tmp_path / "backup" / "manifest.json").write_text(manifest)
    with pytest.raises(BackupError, match=f"catalogue is {other}"):
        restore(scratch.settings, tmp_path / "backup")
    assert_same(state_of(scratch.settings), before)
