"""`clipshoe doctor` on the session catalogue: each kind of drift injected into the live
collection is found, and `--repair` fixes it through the real Celery worker."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from catalog.models import Product
from catalog.vector_index import PointData, point_id
from clipshoe.cli import app
from clipshoe.runtime import get_runtime
from search import indexing
from workers import doctor, reindex

ELSEWHERE = "someone_else_00000000"  # a model version that never made this collection


def test_doctor_finds_and_repairs_each_kind_of_drift(client: TestClient, catalogue: dict) -> None:
    rt = get_runtime()
    live = reindex.adopt_live(rt)
    assert live is not None
    coll = live.collection
    with rt.sessions() as s:
        rows = s.scalars(
            select(Product).where(Product.source == "myntra").order_by(Product.id).limit(4)
        ).all()
    missing, stale_row, stale_point, edited = rows
    ids = [p.point_id for p in rows]
    good = {p.id: p for p in rt.index.retrieve(coll, ids, with_vectors=True)}
    rng = np.random.default_rng(0)

    rt.index.delete(coll, [missing.point_id])
    ghost = point_id("ops-test", "ghost")
    rt.index.upsert(
        coll, [PointData(ghost, {"text": rng.standard_normal(live.dim)}, payload={"product_id": -1})]
    )
    with rt.sessions.begin() as s:
        s.get(Product, stale_row.id).embedded_model = ELSEWHERE  # type: ignore[union-attr]
    other = PointData(
        stale_point.point_id,
        {k: rng.standard_normal(live.dim) for k in good[stale_point.point_id].vectors},
        payload={**good[stale_point.point_id].payload, indexing.MODEL_KEY: ELSEWHERE},
    )
    rt.index.upsert(coll, [other])
    rt.index.set_payload(coll, edited.point_id, {"price": 1.0, "brand": "not-its-brand"})

    report = doctor.check(rt)
    assert missing.id in report.missing
    assert ghost in report.orphans
    assert {stale_row.id, stale_point.id} <= set(report.stale)
    assert edited.id in report.payload
    assert not report.clean

    after = doctor.repair(rt, report)
    assert missing.id not in after.missing and ghost not in after.orphans
    assert not {stale_row.id, stale_point.id} & set(after.stale) and edited.id not in after.payload
    assert rt.index.retrieve(coll, [ghost]) == []
    fixed = {p.id: p for p in rt.index.retrieve(coll, ids, with_vectors=True)}
    with rt.sessions() as s:
        for product in s.scalars(select(Product).where(Product.point_id.in_(ids))):
            point = fixed[product.point_id]
            # (the index may leave out keys whose value is None)
            assert {k: point.payload.get(k) for k in indexing.payload(product)} == indexing.payload(product)
            assert point.payload.get(indexing.MODEL_KEY, live.version) == live.version
            assert product.embedded_model == live.version
            for name, vec in good[product.point_id].vectors.items():
                np.testing.assert_allclose(point.vectors[name], vec, atol=1e-4)
    hits = client.get("/search", params={"q": edited.title, "price_max": 2}).json()["hits"]
    assert edited.id not in [h["id"] for h in hits]  # the edited price no longer leaks into filters


def test_doctor_command_reports_as_json(catalogue: dict) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["clean"] else 1)
    assert report["collection"] == get_runtime().index.resolve_alias(get_runtime().alias)
    assert report["products"] >= 49 and report["points"] >= 49
    for kind in ("missing", "orphans", "stale", "payload"):
        assert set(report[kind]) == {"count", "examples"}
