"""Model operations started from the API (`POST /admin/...`): reindex, rollback, doctor --repair.

They run the code the CLI runs (workers/reindex.py, workers/doctor.py) in a background thread of
the serving process. Embedded, that process is the only one that may open the vector store, so
the batches are embedded in that thread too, beside the searches; with a broker the thread only
orchestrates and the Celery workers embed. What can be refused is checked before the request
returns (a bad model name, nothing to roll back to), so the caller gets a 4xx at once.

One operation at a time per process: each of them moves the one alias. Operation records live in
this process's memory (recent ones); the registry (`registry()`) is what every process shares.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalog import repository
from catalog.models import ModelState, ModelVersion, utcnow
from clipshoe.runtime import Runtime
from encoder.registry import get_encoder
from search import indexing
from workers import doctor, reindex
from workers.reindex import OpsError

log = logging.getLogger(__name__)

KEEP = 50  # finished operation records kept for GET


class InvalidModel(ValueError):
    """A model name that no encoder answers to, or whose weights do not load."""


class Conflict(OpsError):
    """Refused in the current state: an operation runs, the model is already live, nothing to roll back."""


@dataclass
class Operation:
    kind: str  # reindex | rollback | repair
    model: str | None = None  # the name asked for (reindex) or the version's name (rollback)
    version: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: str = "running"  # running | succeeded | failed
    done: int = 0  # batches of the current fill
    total: int = 0
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total


# One thread: operations run one after the other, and never on the ingest jobs' thread, so an
# upgrade does not hold up a merchant's feed (reindex catches up on what ingest changed meanwhile).
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clipshoe-ops")
_lock = threading.Lock()
_records: OrderedDict[str, Operation] = OrderedDict()
_running: Operation | None = None


def get(op_id: str) -> Operation | None:
    return _records.get(op_id)


def recent() -> list[Operation]:
    return list(reversed(_records.values()))


def _claim(op: Operation) -> None:
    global _running
    with _lock:
        if _running is not None:
            raise Conflict(
                f"a {_running.kind} ({_running.model or _running.version}) is running: "
                f"follow it at /admin/operations/{_running.id}, then try again"
            )
        _running = op


def _release() -> None:
    global _running
    _running = None


Work = Callable[[Operation], dict[str, Any]]


def _start(op: Operation, prepare: Callable[[], None], work: Work) -> Operation:
    """Claim the one slot, run `prepare` here (it raises what the caller must hear at once), then
    `work` in the background."""
    _claim(op)
    try:
        prepare()
    except BaseException:
        _release()
        raise
    _records[op.id] = op
    while len(_records) > KEEP:
        _records.popitem(last=False)
    _executor.submit(_run, op, work)
    return op


def _run(op: Operation, work: Work) -> None:
    result, error = None, None
    try:
        result = work(op)
    except Exception as exc:  # the record says why; the thread lives on for the next operation
        log.exception("%s %s failed", op.kind, op.model or op.version)
        error = str(exc) or type(exc).__name__
    finally:
        _release()  # before the record says it ended: whoever sees that may start the next one
    op.result, op.error, op.finished_at = result, error, utcnow()
    op.status = "failed" if error is not None else "succeeded"


# -- reindex -------------------------------------------------------------------------------------


def reindex_target(rt: Runtime, model: str | None, from_db: bool) -> str:
    """The model a reindex builds: the one named, else (rebuilding from the catalogue) the live
    one, else the configured one."""
    if model:
        return model
    if from_db:
        with rt.sessions() as s:
            live = repository.model_in_state(s, ModelState.live)
        if live is not None:
            return live.name
    return rt.settings.encoder.model


def start_reindex(
    rt: Runtime,
    model: str | None,
    *,
    swap: bool = True,
    from_db: bool = False,
    scores: dict[str, Any] | None = None,
    force: bool = False,
) -> Operation:
    name = reindex_target(rt, model, from_db)
    op = Operation("reindex", name)

    def prepare() -> None:
        # The weights load here, once (encoders are cached per process): a name that does not
        # load is the caller's error, and the build then starts at once.
        try:
            encoder = get_encoder(name, rt.settings.encoder.device).ensure_loaded()
            op.version = encoder.version
        except (ValueError, OSError, ImportError) as exc:
            raise InvalidModel(f"cannot load model {name!r}: {exc}") from exc
        collection = indexing.collection_name(encoder)
        live = reindex.adopt_live(rt)
        is_live = live is not None and live.collection == collection
        if is_live and not from_db and rt.index.collection_exists(collection):
            raise Conflict(f"{op.version} is already live; POST /admin/doctor?repair=true fixes its drift")
        if not rt.settings.embedded and not force:
            # Another process (an API replica, a `clipshoe reindex`) may be building; embedded, a
            # `building` row not ours is a build that died with its process.
            with rt.sessions() as s:
                other = [m for m in repository.list_models(s) if m.state == ModelState.building]
            if other and other[0].collection != collection:
                raise Conflict(
                    f"{other[0].version} is being built by another process; wait for it, or, if that "
                    'build died, start this one with "force": true'
                )

    def work(op: Operation) -> dict[str, Any]:
        try:
            report = reindex.build(
                rt, name, swap_alias=swap, rebuild_live=from_db, scores=scores, progress=op.progress
            )
        except Exception as exc:
            _fail_build(rt, op, exc)
            raise
        return dataclasses.asdict(report)

    return _start(op, prepare, work)


def _fail_build(rt: Runtime, op: Operation, exc: Exception) -> None:
    """A build that stopped before verifying (a stall, a load error) would stay `building`: say why."""
    try:
        with rt.sessions.begin() as s:
            row = _row(s, op.version)
            if row is not None and row.state == ModelState.building:
                row.state, row.message = ModelState.failed, f"{exc}"[:2000]
    except Exception:  # the operation's record still says why
        log.exception("could not mark %s failed", op.version)


def _row(s: Any, version: str | None) -> ModelVersion | None:
    return next((m for m in repository.list_models(s) if m.version == version), None)


# -- rollback ------------------------------------------------------------------------------------


def start_rollback(rt: Runtime) -> Operation:
    op = Operation("rollback")

    def prepare() -> None:
        # What reindex.rollback refuses, asked here so the caller hears it at once.
        reindex.adopt_live(rt)
        with rt.sessions() as s:
            prev = repository.model_in_state(s, ModelState.previous)
        if prev is None:
            raise Conflict("no previous model version to roll back to (see GET /admin/models)")
        if not rt.index.collection_exists(prev.collection):
            raise Conflict(f"the collection of {prev.version} ({prev.collection}) is gone; reindex instead")
        reindex.model_encoder(rt, prev)
        op.model, op.version = prev.name, prev.version

    def work(op: Operation) -> dict[str, Any]:
        mv = reindex.rollback(rt)
        return {"version": mv.version, "collection": mv.collection}

    return _start(op, prepare, work)


# -- doctor --------------------------------------------------------------------------------------


def check(rt: Runtime) -> dict[str, Any]:
    return doctor.check(rt).as_dict()


def start_repair(rt: Runtime) -> Operation:
    op = Operation("repair")

    def work(op: Operation) -> dict[str, Any]:
        report = doctor.check(rt)
        before = report.as_dict()
        op.version = report.version
        if not report.clean:
            report = doctor.repair(rt, report, progress=op.progress)
        return {"before": before, "after": report.as_dict()}

    return _start(op, lambda: None, work)


# -- prune ---------------------------------------------------------------------------------------


def prune(rt: Runtime, *, include_previous: bool = False, dry_run: bool = False) -> list[str]:
    """`reindex.prune`, refused while an operation runs (a rollback needs the previous collection)."""
    _claim(Operation("prune"))
    try:
        return reindex.prune(rt, include_previous=include_previous, dry_run=dry_run)
    finally:
        _release()


# -- the registry --------------------------------------------------------------------------------


def registry(rt: Runtime) -> list[dict[str, Any]]:
    """Every registered version: state, collection (or that it was deleted), points, progress of
    its current fill, scores. The registry is first made to agree with the alias."""
    reindex.adopt_live(rt)
    with rt.sessions() as s:
        rows = repository.list_models(s)
    collections = set(rt.index.list_collections())
    return [
        {
            "id": m.id,
            "name": m.name,
            "version": m.version,
            "state": m.state,
            "dim": m.dim,
            "collection": m.collection if m.collection in collections else f"{m.collection} (deleted)",
            "points": m.points,
            "batches_done": m.batches_done,
            "batches_total": m.batches_total,
            "failed": m.failed,
            "checkpoint_hash": m.checkpoint_hash,
            "scores": m.scores,
            "created_at": m.created_at.isoformat(timespec="seconds"),
            "activated_at": m.activated_at.isoformat(timespec="seconds") if m.activated_at else None,
            "message": m.message,
        }
        for m in rows
    ]


def model_state(rt: Runtime, version: str | None) -> str | None:
    if version is None:
        return None
    with rt.sessions() as s:
        row = _row(s, version)
        return row.state if row else None
