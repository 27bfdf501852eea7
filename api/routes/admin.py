"""Model operations on a running server: reindex, rollback, prune, doctor, the registry.

The same operations as `clipshoe reindex | rollback | prune | doctor`, for a server that owns the
embedded store (the CLI's `--url` drives these), or from any replica with a broker. Long ones
answer 202 with an operation to follow at `/admin/operations/{id}` (docs/ops-models.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import ApiKeyDep, RuntimeDep
from clipshoe.runtime import Runtime
from workers import operations as ops
from workers.reindex import OpsError

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[ApiKeyDep])


class ReindexIn(BaseModel):
    model: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="default, base, hf:<hub id or folder>, or a checkpoint folder; "
        "default: the configured model (with from_db: the live one).",
    )
    swap: bool = Field(True, description="Swap the alias once the new collection verifies.")
    from_db: bool = Field(False, description="Rebuild the live model's collection from the catalogue alone.")
    scores: dict[str, Any] | None = Field(None, description="Evaluation scores to record on the version.")
    force: bool = Field(False, description="Start even though the registry says another version is building.")


class Progress(BaseModel):
    done: int = Field(description="Batches of the current fill done.")
    total: int


class OperationOut(BaseModel):
    id: str
    kind: str = Field(description="reindex, rollback or repair.")
    status: str = Field(description="running, succeeded or failed.")
    model: str | None = None
    version: str | None = Field(None, description="The model version it builds or brings back.")
    model_state: str | None = Field(None, description="That version's state in the registry now.")
    progress: Progress
    started_at: datetime
    finished_at: datetime | None = None
    result: dict[str, Any] | None = Field(None, description="The build report, or doctor before/after.")
    error: str | None = None
    url: str


class ModelOut(BaseModel):
    id: int
    name: str
    version: str
    state: str
    dim: int
    collection: str
    points: int | None
    batches_done: int
    batches_total: int
    failed: int
    checkpoint_hash: str | None
    scores: dict[str, Any] | None
    created_at: str
    activated_at: str | None
    message: str | None


class PruneOut(BaseModel):
    deleted: list[str]
    dry_run: bool


def _out(request: Request, rt: Runtime, op: ops.Operation) -> OperationOut:
    return OperationOut(
        id=op.id,
        kind=op.kind,
        status=op.status,
        model=op.model,
        version=op.version,
        model_state=ops.model_state(rt, op.version),
        progress=Progress(done=op.done, total=op.total),
        started_at=op.started_at,
        finished_at=op.finished_at,
        result=op.result,
        error=op.error,
        url=str(request.url_for("get_operation", op_id=op.id)),
    )


def _refused(exc: Exception) -> HTTPException:
    code = 422 if isinstance(exc, ops.InvalidModel) else 409
    return HTTPException(code, str(exc))


@router.post("/reindex", response_model=OperationOut, status_code=202)
def reindex(rt: RuntimeDep, request: Request, body: ReindexIn) -> OperationOut:
    """Backfill a model version's collection while the live one serves, verify it, swap the alias."""
    try:
        op = ops.start_reindex(
            rt, body.model, swap=body.swap, from_db=body.from_db, scores=body.scores, force=body.force
        )
    except (ops.InvalidModel, OpsError) as exc:
        raise _refused(exc) from exc
    return _out(request, rt, op)


@router.post("/rollback", response_model=OperationOut, status_code=202)
def rollback(rt: RuntimeDep, request: Request) -> OperationOut:
    """Swap the alias back to the previous model version (re-embedding what changed since)."""
    try:
        op = ops.start_rollback(rt)
    except OpsError as exc:
        raise _refused(exc) from exc
    return _out(request, rt, op)


@router.post("/prune", response_model=PruneOut)
def prune(
    rt: RuntimeDep,
    include_previous: Annotated[
        bool, Query(description="Also the previous version (no rollback then).")
    ] = False,
    dry_run: Annotated[bool, Query(description="Only say what would be deleted.")] = False,
) -> PruneOut:
    """Delete the collections of retired and failed model versions; live (and previous) stay."""
    try:
        deleted = ops.prune(rt, include_previous=include_previous, dry_run=dry_run)
    except OpsError as exc:
        raise _refused(exc) from exc
    return PruneOut(deleted=deleted, dry_run=dry_run)


@router.post(
    "/doctor",
    response_model=dict[str, Any] | OperationOut,
    responses={202: {"model": OperationOut, "description": "repair started"}},
)
def doctor(
    rt: RuntimeDep,
    request: Request,
    response: Response,
    repair: Annotated[bool, Query(description="Fix the drift (202 and an operation).")] = False,
) -> Any:
    """Compare the catalogue with the live collection: missing, orphaned, stale and out-of-date points.
    With repair=true, fix them in the background and report before and after."""
    if not repair:
        return ops.check(rt)
    try:
        op = ops.start_repair(rt)
    except OpsError as exc:
        raise _refused(exc) from exc
    response.status_code = 202
    return _out(request, rt, op)


@router.get("/operations", response_model=list[OperationOut])
def list_operations(rt: RuntimeDep, request: Request) -> list[OperationOut]:
    """Recent operations of this server process, newest first."""
    return [_out(request, rt, op) for op in ops.recent()]


@router.get("/operations/{op_id}", response_model=OperationOut)
def get_operation(rt: RuntimeDep, request: Request, op_id: str) -> OperationOut:
    """An operation's status, progress, and its report or error once finished."""
    op = ops.get(op_id)
    if op is None:
        raise HTTPException(404, f"operation {op_id} not found on this server (records live in its memory)")
    return _out(request, rt, op)


@router.get("/models", response_model=list[ModelOut])
def models(rt: RuntimeDep) -> list[dict[str, Any]]:
    """Registered model versions: state, collection, points, fill progress, checkpoint hash, scores."""
    return ops.registry(rt)
