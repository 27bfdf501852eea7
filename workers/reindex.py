"""Model upgrades without downtime: backfill a new collection while the old one serves, verify it,
swap the alias; roll back; prune what is no longer needed (docs/ops-models.md).

The bulk work is reader → mapper → writer: product ids from the catalogue → vectors of one model
version → points in that version's own collection. `fill_batch` is that unit of work; a Celery
worker runs it (task `clipshoe.encode.model_batch`, GPU workers read the queue), or, embedded,
this process does. Vectors of two models never share a collection, and searches follow the alias
(search/live_model.py), so no search ever sees mixed models.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from catalog import repository
from catalog.models import ModelState, ModelVersion, utcnow
from clipshoe.runtime import Runtime
from encoder.base import Encoder
from encoder.registry import get_encoder
from search import indexing
from search.live_model import REFRESH_S

log = logging.getLogger(__name__)

SAMPLE = 8  # products re-encoded here to check a build's stored vectors
# Vectors of one model agree to ~1e-6 on one device and ~1e-3 between a GPU worker and a CPU check.
MIN_COSINE = 0.99
# Product timestamps come from other machines' clocks: look this much further back for changes.
CLOCK_SKEW = timedelta(seconds=30)
CATCH_UP_ROUNDS = 3
STALL_S = 900.0  # no batch finished for this long: the fill is failed (workers down, or a poison batch)

Progress = Callable[[int, int], None]  # (batches done, batches total)
T = TypeVar("T")


class OpsError(RuntimeError):
    """An operation refused or failed; the message says why and what to do."""


@dataclass
class BuildReport:
    version: str
    collection: str
    products: int
    points: int = 0
    sampled: int = 0
    min_cosine: float | None = None
    caught_up: int = 0  # products changed during the build, re-embedded before the swap
    swapped: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


# -- the unit of work ------------------------------------------------------------------------


def model_encoder(rt: Runtime, mv: ModelVersion) -> Encoder:
    """The encoder of a registered version, refusing one whose weights changed since it was built."""
    encoder = get_encoder(mv.name, rt.settings.encoder.device)
    if encoder.version != mv.version:
        raise OpsError(
            f"{mv.name!r} now loads as {encoder.version}, not {mv.version}: its checkpoint changed; "
            f"run `clipshoe reindex --model {mv.name}` to build the new version"
        )
    return encoder


def fill_batch(rt: Runtime, model_id: int, product_ids: list[int]) -> dict[str, int]:
    """Embed products with one model version into its collection. Idempotent (fixed point ids).
    Rows are marked embedded only when that collection is live; a build marks them at its swap."""
    with rt.sessions() as s:
        mv = repository.get_model(s, model_id)
        if mv is None:
            raise LookupError(f"model version {model_id} does not exist")
        products = repository.products_by_ids(s, product_ids)
    try:
        points = indexing.build_points(products, model_encoder(rt, mv), rt.settings.media_dir)
        rt.index.upsert(mv.collection, points)
    except Exception as exc:
        from workers.tasks import TRANSIENT

        if isinstance(exc, TRANSIENT):
            raise  # the task retries it
        log.exception("model batch of %s failed", mv.version)
        with rt.sessions.begin() as s:
            repository.add_fill_progress(s, model_id, failed=len(product_ids), message=f"{exc}")
        return {"indexed": 0, "failed": len(product_ids)}
    with rt.sessions.begin() as s:
        if rt.index.resolve_alias(rt.alias) == mv.collection:
            repository.record_embedded(s, [p.id for p in products], mv.version)
        repository.add_fill_progress(s, model_id)
    return {"indexed": len(points), "failed": 0}


def batched(ids: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def run_fill(
    rt: Runtime,
    model_id: int,
    batches: Sequence[T],
    submit: Callable[[T], None],
    progress: Progress | None = None,
) -> int:
    """Hand batches to the workers (or run them here, embedded) and wait until each reported.
    Returns how many items failed; a fill that stalls raises."""
    if not batches:
        return 0
    with rt.sessions.begin() as s:
        repository.start_fill(s, model_id, len(batches))
    for i, batch in enumerate(batches, start=1):
        submit(batch)  # embedded: runs now, in this thread
        if progress is not None and rt.settings.embedded:
            progress(i, len(batches))
    done, last_change = -1, time.monotonic()
    while True:
        with rt.sessions() as s:
            mv = repository.get_model(s, model_id)
            assert mv is not None
            now_done, failed, total = mv.batches_done, mv.failed, mv.batches_total
        if progress is not None:
            progress(now_done, total)
        if now_done >= total:
            return failed
        if now_done != done:
            done, last_change = now_done, time.monotonic()
        elif time.monotonic() - last_change > STALL_S:
            raise OpsError(f"no batch finished in {STALL_S:.0f}s ({now_done}/{total}): are workers running?")
        time.sleep(0.2)


def fill(rt: Runtime, model_id: int, product_ids: Sequence[int], progress: Progress | None = None) -> int:
    """Embed products into a version's collection through the workers; returns failures."""
    from workers.tasks import model_batch

    def submit(batch: list[int]) -> None:
        if rt.settings.embedded:
            fill_batch(rt, model_id, batch)
        else:
            model_batch.delay(model_id, batch)

    return run_fill(rt, model_id, batched(product_ids, rt.settings.ingest.batch_size), submit, progress)


# -- the registry and the alias ----------------------------------------------------------------


def adopt_live(rt: Runtime) -> ModelVersion | None:
    """Make the registry agree with the alias (the alias is what serves): register the configured
    model when it made the live collection before the registry existed, mark the target live."""
    target = rt.index.resolve_alias(rt.alias)
    if target is None:
        return None
    with rt.sessions.begin() as s:
        mv = repository.model_by_collection(s, target)
        if mv is None:
            encoder = rt.configured_encoder
            if indexing.collection_name(encoder) != target:
                log.warning(unknown_live(rt, target))
                return None
            mv = register(s, rt.settings.encoder.model, encoder, ModelState.live)
            mv.points = rt.index.count(target)
        if mv.state != ModelState.live:
            repository.promote_model(s, mv)
        s.flush()  # before expunge: changes to a detached row are never written
        s.expunge(mv)
    return mv


def unknown_live(rt: Runtime, target: str) -> str:
    return (
        f"alias {rt.alias} points at {target}, which the registry does not know and the configured "
        f"model ({rt.settings.encoder.model}) did not make: set CLIPSHOE_ENCODER__MODEL to the model "
        "that built it, or `clipshoe reindex --model NAME` to replace it"
    )


def register(s: Any, name: str, encoder: Encoder, state: ModelState = ModelState.building) -> ModelVersion:
    version = encoder.version
    return repository.register_model(
        s,
        name,
        version,
        encoder.dim,
        indexing.collection_name(encoder),
        checkpoint_hash=version.rsplit("_", 1)[-1],
        state=state,
    )


def swap(rt: Runtime, model_id: int) -> ModelVersion:
    """Point the alias at the version's collection (atomic in both backends), then the registry."""
    with rt.sessions.begin() as s:
        mv = repository.get_model(s, model_id)
        assert mv is not None
        rt.index.set_alias(rt.alias, mv.collection)
        repository.promote_model(s, mv)
        s.expunge(mv)
    rt.live.invalidate()
    log.info("alias %s now points at %s", rt.alias, mv.collection)
    return mv


# -- build, rollback, prune ----------------------------------------------------------------------


def _aware(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; ClipShoe writes every timestamp in UTC.
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _versions(s: Any, since: datetime | None = None) -> dict[int, datetime]:
    return {i: _aware(ts) for i, ts in repository.product_versions(s, since).items()}


@dataclass
class Sync:
    """What one operation knows a collection holds: product id → the row's `updated_at` when it
    was embedded there. Catching up re-embeds the rows whose `updated_at` moved since, looking
    only at rows changed after `since` (less the clock skew)."""

    model_id: int
    collection: str
    since: datetime
    seen: dict[int, datetime]

    @classmethod
    def start(cls, rt: Runtime, mv: ModelVersion, trusted_before: datetime | None = None) -> Sync:
        """`trusted_before=None`: every row is about to be embedded (a backfill); otherwise rows
        updated before it are trusted to be in the collection already (a rollback)."""
        since = utcnow()
        with rt.sessions() as s:
            rows = _versions(s)
        if trusted_before is not None:
            since = _aware(trusted_before)
            rows = {i: ts for i, ts in rows.items() if ts < since - CLOCK_SKEW}
        return cls(mv.id, mv.collection, since, rows)

    def catch_up(self, rt: Runtime) -> int:
        """Re-embed what changed, drop points of deleted products; returns how many were re-embedded."""
        changed = 0
        for _ in range(CATCH_UP_ROUNDS):
            with rt.sessions() as s:
                updates = _versions(s, self.since - CLOCK_SKEW)
            todo = [i for i, ts in updates.items() if self.seen.get(i) != ts]
            if not todo:
                break
            fill(rt, self.model_id, todo)
            self.seen.update((i, updates[i]) for i in todo)
            changed += len(todo)
        with rt.sessions() as s:
            known = repository.all_point_ids(s)
        orphans = [pid for pid in rt.index.scroll_ids(self.collection) if pid not in known]
        for batch in batched(orphans, 1000):
            rt.index.delete(self.collection, batch)
        return changed


def verify(rt: Runtime, mv: ModelVersion, encoder: Encoder, report: BuildReport) -> None:
    """Every product has a point, and a sample re-encoded here matches what the workers stored."""
    with rt.sessions() as s:
        expected = repository.all_point_ids(s)
        report.products = len(expected)
        stored = set(rt.index.scroll_ids(mv.collection))
        report.points = len(stored)
        missing, extra = expected - stored, stored - expected
        if missing:
            report.problems.append(f"{len(missing)} products have no point, e.g. {sorted(missing)[:3]}")
        if extra:
            report.problems.append(f"{len(extra)} points have no product, e.g. {sorted(extra)[:3]}")
        sample_ids = random.sample(sorted(expected & stored), min(SAMPLE, len(expected & stored)))
        products = list(repository.products_by_point_ids(s, sample_ids).values())
    if not products:
        return
    fresh = indexing.build_points(products, encoder, rt.settings.media_dir)
    kept = {p.id: p for p in rt.index.retrieve(mv.collection, [p.id for p in fresh], with_vectors=True)}
    cosines = []
    for point in fresh:
        for name, vec in point.vectors.items():
            other = kept[point.id].vectors.get(name)
            cosines.append(-1.0 if other is None else float(np.dot(np.asarray(vec), np.asarray(other))))
    report.sampled, report.min_cosine = len(products), min(cosines)
    if report.min_cosine < MIN_COSINE:
        report.problems.append(
            f"stored vectors differ from a fresh encoding (cosine {report.min_cosine:.4f} < {MIN_COSINE})"
        )


def build(
    rt: Runtime,
    model: str,
    *,
    swap_alias: bool = True,
    rebuild_live: bool = False,
    scores: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Backfill `model`'s collection from the catalogue while the live one serves, verify it, swap.

    `rebuild_live` lets the live version itself be rebuilt (its collection lost or damaged:
    `clipshoe reindex --from-db`); otherwise reindexing the live version is refused.
    """
    started = time.monotonic()
    previous_live = adopt_live(rt)
    encoder = get_encoder(model, rt.settings.encoder.device).ensure_loaded()
    with rt.sessions.begin() as s:
        mv = register(s, model, encoder)
        if mv.state == ModelState.live and not rebuild_live and rt.index.collection_exists(mv.collection):
            raise OpsError(f"{mv.version} is already live; `clipshoe doctor --repair` fixes its drift")
        if mv.state != ModelState.live:
            mv.state = ModelState.building
        mv.message = None
        if scores is not None:
            mv.scores = scores
        s.flush()
        s.expunge(mv)
    report = BuildReport(mv.version, mv.collection, products=0)
    rt.index.create_collection(mv.collection, encoder.dim)
    sync = Sync.start(rt, mv)
    log.info("backfilling %d products into %s", len(sync.seen), mv.collection)
    failed = fill(rt, mv.id, sorted(sync.seen), progress)
    report.caught_up = sync.catch_up(rt)
    verify(rt, mv, encoder, report)
    if failed:
        with rt.sessions() as s:
            row = repository.get_model(s, mv.id)
            report.problems.append(f"{failed} products failed to embed: {row.message if row else '?'}")
    if report.problems:
        with rt.sessions.begin() as s:
            row = repository.get_model(s, mv.id)
            assert row is not None
            if row.state != ModelState.live:
                row.state = ModelState.failed
            row.message = "; ".join(report.problems)
        raise OpsError(f"{mv.version} did not verify, alias unchanged: {'; '.join(report.problems)}")
    if _needs_optimize(rt, report.points):
        rt.index.optimize(mv.collection)
    with rt.sessions.begin() as s:
        row = repository.get_model(s, mv.id)
        assert row is not None
        row.points = report.points
    if swap_alias:
        report.caught_up += finish_swap(rt, sync)
        report.swapped = True
    log.info("built %s (was %s)", mv.version, previous_live.version if previous_live else "nothing")
    report.seconds = time.monotonic() - started
    return report


def _needs_optimize(rt: Runtime, points: int) -> bool:
    # A server indexes by itself; the embedded store builds HNSW only past the threshold
    # (below it exact search is fast), and the build holds the GIL (docs/decisions.md).
    return rt.settings.qdrant.url is not None or points >= rt.settings.qdrant.optimize_min_points


def finish_swap(rt: Runtime, sync: Sync) -> int:
    """Swap, then catch up once more after every process has seen the swap (an ingest that still
    wrote with the old model meanwhile is re-embedded with the new one); rows the collection
    holds unchanged are then marked as embedded by its model."""
    mv = swap(rt, sync.model_id)
    time.sleep(REFRESH_S)
    changed = sync.catch_up(rt)
    with rt.sessions.begin() as s:
        current = _versions(s)
        unchanged = [i for i, ts in sync.seen.items() if current.get(i) == ts]
        for batch in batched(unchanged, 1000):
            repository.record_embedded(s, batch, mv.version)
    return changed


def rollback(rt: Runtime) -> ModelVersion:
    """Swap back to the previous version, first re-embedding what changed since it was live."""
    current = adopt_live(rt)
    with rt.sessions() as s:
        prev = repository.model_in_state(s, ModelState.previous)
    if prev is None:
        raise OpsError("no previous model version to roll back to (see `clipshoe models list`)")
    if not rt.index.collection_exists(prev.collection):
        raise OpsError(f"the collection of {prev.version} ({prev.collection}) is gone; reindex instead")
    model_encoder(rt, prev)  # refuses a checkpoint that changed since
    # Rows changed since the current version went live are re-embedded into the previous one; if
    # that moment is unknown, nothing in it is trusted.
    went_live = current.activated_at if current and current.activated_at else datetime(2000, 1, 1, tzinfo=UTC)
    sync = Sync.start(rt, prev, trusted_before=went_live)
    sync.catch_up(rt)
    finish_swap(rt, sync)
    return prev


def prune(rt: Runtime, *, include_previous: bool = False, dry_run: bool = False) -> list[str]:
    """Delete collections of retired and failed versions (and the previous one if asked).
    The live collection is never deleted, whatever the registry says."""
    adopt_live(rt)
    states = {ModelState.retired, ModelState.failed} | ({ModelState.previous} if include_previous else set())
    live_collection = rt.index.resolve_alias(rt.alias)
    deleted = []
    with rt.sessions.begin() as s:
        for mv in repository.list_models(s):
            if mv.state not in states or mv.collection == live_collection:
                continue
            deleted.append(mv.collection)
            if not dry_run:
                rt.index.delete_collection(mv.collection)
                mv.state = ModelState.pruned
    return deleted
