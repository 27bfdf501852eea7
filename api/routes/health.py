"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RuntimeDep, SessionDep
from api.schemas import Health
from catalog import repository
from catalog.vector_index import CollectionNotFound

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(rt: RuntimeDep, session: SessionDep) -> Health:
    """The service is up: counts of catalogue rows and indexed points."""
    try:
        points = rt.index.count(rt.alias)
    except CollectionNotFound:
        points = 0
    return Health(
        status="ok",
        model=rt.settings.encoder.model,
        products=repository.count_products(session),
        indexed_points=points,
    )
