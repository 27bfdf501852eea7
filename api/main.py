"""The FastAPI app: routers combined, errors mapped to clear 4xx/503 answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy.exc import DataError, OperationalError

from api.observability import RequestObserver, valid_request_id
from api.ratelimit import RateLimitMiddleware
from api.routes import admin, health, ingest, pages, products, search
from catalog.vector_index import IndexUnavailable
from clipshoe.logs import configure_logging
from clipshoe.runtime import get_runtime

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    rt = get_runtime()
    configure_logging(rt.settings.log)  # after uvicorn's own set-up, which it re-routes
    rt.encoder  # noqa: B018 - load the model before the first request, not during it
    yield


def create_app() -> FastAPI:
    rt = get_runtime()
    app = FastAPI(
        title="ClipShoe",
        version="0.1.0",
        lifespan=lifespan,
        description="Shoe search by text (English, Vietnamese) or photo.",
    )
    # Middleware added last runs first: request id → metrics and request log → CORS → rate limit.
    app.add_middleware(RateLimitMiddleware)
    if rt.settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=rt.settings.api.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestObserver)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=valid_request_id)
    for r in (search.router, products.router, ingest.router, admin.router, health.router, pages.router):
        app.include_router(r)

    @app.exception_handler(IndexUnavailable)
    async def _index_down(_: Request, exc: IndexUnavailable) -> JSONResponse:
        return JSONResponse({"detail": f"vector index unavailable: {exc}"}, status_code=503)

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return JSONResponse({"detail": "catalogue database unavailable, retry shortly"}, status_code=503)

    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: DataError) -> JSONResponse:
        # A value the catalogue's columns cannot hold (an id past 2**31 - 1): the request's fault.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        return JSONResponse({"detail": f"a value in the request is out of range: {reason}"}, status_code=422)

    @app.exception_handler(BrokerUnavailable)
    async def _broker_down(_: Request, exc: BrokerUnavailable) -> JSONResponse:
        log.warning("task broker unavailable: %s", exc)
        return JSONResponse({"detail": "task broker unavailable, retry shortly"}, status_code=503)

    return app
