"""`clipshoe doctor`: does the vector index still agree with the catalogue (the source of truth)?

Drift, per product or point of the live collection:
- missing:  a product with no point (an embed that failed for good, a lost or partial index);
- orphaned: a point whose product row is gone;
- stale:    a point made by another model than the live one (the row or the point says so);
- payload:  a point whose filter payload no longer matches its row (a missed price update).
And of the whole: the alias unset or pointing at a collection that is gone, a live collection the
registry cannot explain, a live model whose checkpoint changed since it was indexed.

`--repair` goes through the workers: re-embedding (missing, stale) is `clipshoe.encode.model_batch`,
payload rewrites and orphan deletes are `clipshoe.ingest.repair_points`. On an empty or lost
index that rebuilds everything from the catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from catalog import repository
from catalog.models import ModelState, ModelVersion
from catalog.vector_index import PointNotFound
from clipshoe.runtime import Runtime
from encoder.registry import get_encoder
from search import indexing
from workers import reindex
from workers.reindex import Progress, batched

log = logging.getLogger(__name__)

SCAN_BATCH = 500
EXAMPLES = 5


@dataclass
class Report:
    alias: str
    collection: str | None = None
    version: str | None = None
    products: int = 0
    points: int = 0
    missing: list[int] = field(default_factory=list)  # product ids
    orphans: list[str] = field(default_factory=list)  # point ids
    stale: list[int] = field(default_factory=list)  # product ids
    payload: list[int] = field(default_factory=list)  # product ids
    problems: list[str] = field(default_factory=list)  # about the index as a whole

    @property
    def clean(self) -> bool:
        return not (self.missing or self.orphans or self.stale or self.payload or self.problems)

    def as_dict(self) -> dict[str, Any]:
        drift = {k: getattr(self, k) for k in ("missing", "orphans", "stale", "payload")}
        return {
            "alias": self.alias,
            "collection": self.collection,
            "model_version": self.version,
            "products": self.products,
            "points": self.points,
            "clean": self.clean,
            "problems": self.problems,
            **{k: {"count": len(v), "examples": v[:EXAMPLES]} for k, v in drift.items()},
        }


def _live_row(rt: Runtime, report: Report) -> ModelVersion | None:
    """The live version per alias and registry, with what is wrong at that level noted."""
    target = rt.index.resolve_alias(rt.alias)
    live = reindex.adopt_live(rt)
    if target is not None and live is None:
        report.problems.append(reindex.unknown_live(rt, target))
        return None
    if live is None:
        with rt.sessions() as s:
            live = repository.model_in_state(s, ModelState.live)
        if live is None:
            if report.products:
                report.problems.append("no live model: nothing is indexed yet (repair indexes the catalogue)")
            return None
        report.problems.append(f"alias {rt.alias} is not set; the registry's live version is {live.version}")
    if not rt.index.collection_exists(live.collection):
        report.problems.append(f"the live collection {live.collection} does not exist")
    loads_as = get_encoder(live.name, rt.settings.encoder.device).version
    if loads_as != live.version:
        report.problems.append(
            f"live model {live.name!r} now loads as {loads_as}, not {live.version} (its checkpoint changed): "
            f"run `clipshoe reindex --model {live.name}`"
        )
    return live


def _product_batches(rt: Runtime) -> Iterator[list[Any]]:
    with rt.sessions() as s:
        for ids in repository.iter_product_ids(s, SCAN_BATCH):
            yield repository.products_by_ids(s, ids)


def check(rt: Runtime) -> Report:
    report = Report(rt.alias)
    with rt.sessions() as s:
        report.products = repository.count_products(s)
    live = _live_row(rt, report)
    if live is None:
        return report
    report.collection, report.version = live.collection, live.version
    exists = rt.index.collection_exists(live.collection)
    stored = set(rt.index.scroll_ids(live.collection)) if exists else set()
    report.points = len(stored)
    known: set[str] = set()
    for products in _product_batches(rt):
        known.update(p.point_id for p in products)
        present = [p for p in products if p.point_id in stored]
        report.missing += [p.id for p in products if p.point_id not in stored]
        points = rt.index.retrieve(live.collection, [p.point_id for p in present])
        payloads = {pt.id: pt.payload for pt in points}
        for p in present:
            payload = payloads.get(p.point_id, {})
            # Points written before the key existed have none: their row alone says.
            made_by = payload.get(indexing.MODEL_KEY, live.version)
            if p.embedded_model != live.version or made_by != live.version:
                report.stale.append(p.id)
            elif any(payload.get(k) != v for k, v in indexing.payload(p).items()):
                report.payload.append(p.id)
    report.orphans = sorted(stored - known)
    return report


def repair_points(
    rt: Runtime, model_id: int, product_ids: list[int], orphan_ids: list[str]
) -> dict[str, int]:
    """Worker side: rewrite payloads from the rows, delete points whose product is (still) gone."""
    with rt.sessions() as s:
        mv = repository.get_model(s, model_id)
        if mv is None:
            raise LookupError(f"model version {model_id} does not exist")
        products = repository.products_by_ids(s, product_ids)
        reborn = repository.products_by_point_ids(s, orphan_ids) if orphan_ids else {}
    fixed = 0
    for p in products:
        try:
            rt.index.set_payload(mv.collection, p.point_id, indexing.payload(p))
            fixed += 1
        except PointNotFound:  # deleted meanwhile: the next check reports it missing
            log.warning("point of product %s vanished before its payload was fixed", p.id)
    orphans = [pid for pid in orphan_ids if pid not in reborn]  # a listing re-ingested meanwhile stays
    rt.index.delete(mv.collection, orphans)
    with rt.sessions.begin() as s:
        repository.add_fill_progress(s, model_id)
    return {"payloads": fixed, "deleted": len(orphans)}


def repair(rt: Runtime, report: Report, progress: Progress | None = None) -> Report:
    """Fix what `check` found through the workers, then check again."""
    from workers.tasks import repair_points as repair_task

    with rt.sessions() as s:
        live = repository.model_in_state(s, ModelState.live)
    if live is None:
        if report.products and rt.index.resolve_alias(rt.alias) is None:
            # Nothing was ever indexed, or the registry was lost with the index: index the
            # catalogue with the configured model.
            reindex.build(rt, rt.settings.encoder.model, progress=progress)
        return check(rt)
    reindex.model_encoder(rt, live)  # a changed checkpoint needs a reindex, not a repair
    if not rt.index.collection_exists(live.collection):
        rt.index.create_collection(live.collection, live.dim)
    if rt.index.resolve_alias(rt.alias) != live.collection:
        reindex.swap(rt, live.id)
    reindex.fill(rt, live.id, sorted({*report.missing, *report.stale}), progress)
    work: list[tuple[list[int], list[str]]] = [(ids, []) for ids in batched(report.payload, SCAN_BATCH)]
    work += [([], ids) for ids in batched(report.orphans, SCAN_BATCH)]

    def submit(item: tuple[list[int], list[str]]) -> None:
        if rt.settings.embedded:
            repair_points(rt, live.id, *item)
        else:
            repair_task.delay(live.id, *item)

    reindex.run_fill(rt, live.id, work, submit, progress)
    return check(rt)
