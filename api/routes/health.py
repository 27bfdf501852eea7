"""Liveness, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import RuntimeDep, SessionDep
from api.observability import metrics_text, redis_client
from api.schemas import Health
from catalog import repository
from catalog.vector_index import CollectionNotFound
from clipshoe.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(rt: RuntimeDep, session: SessionDep) -> Health:
    """The service is up: the live model, counts of catalogue rows and indexed points."""
    try:
        points = rt.index.count(rt.alias)
    except CollectionNotFound:
        points = 0
    live = rt.live.get()  # what searches use now: after a reindex, not the configured model
    return Health(
        status="ok",
        model=live.encoder.name,
        model_version=live.version,
        products=repository.count_products(session),
        indexed_points=points,
    )


class Readiness(BaseModel):
    status: str = Field(description="'ready' or 'unready'.")
    checks: dict[str, str] = Field(description="Each dependency: 'ok' or what went wrong.")
    failed: list[str] = Field([], description="The checks that failed.")


def _database(rt: Runtime) -> None:
    with rt.sessions() as s:
        s.scalar(select(1))


def _broker(rt: Runtime) -> None:
    assert rt.settings.broker.url
    redis_client(rt.settings.broker.url).ping()


def _vector_index(rt: Runtime) -> None:
    rt.index.list_collections()


def readiness(rt: Runtime) -> Readiness:
    checks: dict[str, Callable[[Runtime], None]] = {"database": _database, "vector_index": _vector_index}
    if rt.settings.broker.url:
        checks["broker"] = _broker
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check(rt)
            results[name] = "ok"
        except Exception as exc:  # any failure makes this replica unready; say which and why
            results[name] = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("readiness: %s failed: %s", name, results[name])
    failed = [n for n, r in results.items() if r != "ok"]
    return Readiness(status="unready" if failed else "ready", checks=results, failed=failed)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(rt: RuntimeDep) -> JSONResponse:
    """Ready to serve: the database, the broker (when one is set) and the vector store answer.
    503 names the check that failed."""
    r = readiness(rt)
    return JSONResponse(r.model_dump(), status_code=503 if r.failed else 200)


@router.get("/metrics", include_in_schema=False)
def metrics(rt: RuntimeDep) -> Response:
    """Prometheus exposition (CLIPSHOE_METRICS__ENABLED=false turns it off)."""
    if not rt.settings.metrics.enabled:
        raise HTTPException(404, "metrics are disabled (CLIPSHOE_METRICS__ENABLED=false)")
    body, content_type = metrics_text(rt)
    return Response(body, media_type=content_type)
