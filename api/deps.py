"""Typed dependencies shared by the routes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from catalog import repository
from catalog.vector_index import SearchFilter
from clipshoe.runtime import Runtime, get_runtime
from ingest.normalise import normalise_category, normalise_colour, normalise_gender
from search.service import SearchService

log = logging.getLogger(__name__)


def runtime() -> Runtime:
    return get_runtime()


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def session(rt: RuntimeDep) -> Iterator[Session]:
    s = rt.sessions()
    try:
        yield s
    finally:
        try:
            s.close()
        except DBAPIError as exc:
            # The connection died after the handler was done with it (a dropped connection, a
            # failover): its answer stands, nothing uncommitted is lost, the pool discards it.
            # Raised here, after the response has started, it would cut the answer off instead.
            log.warning("closing a request's database session: %s", exc)


SessionDep = Annotated[Session, Depends(session)]


def search_service(rt: RuntimeDep) -> SearchService:
    return rt.search


SearchDep = Annotated[SearchService, Depends(search_service)]


def _values(raw: list[str], normalise: Callable[[str], str | None] | None = None) -> tuple[str, ...]:
    """Repeated params and comma-separated lists both work: ?brand=Nike&brand=Puma or ?brand=Nike,Puma."""
    out: list[str] = []
    for item in raw:
        for v in item.split(","):
            v = v.strip()
            if v:
                out.append((normalise(v) if normalise else None) or v.lower())
    return tuple(dict.fromkeys(out))


def search_filter(
    brand: Annotated[list[str], Query(description="Brand(s), any-of, case-insensitive.")] = [],  # noqa: B006
    category: Annotated[list[str], Query(description="Category(ies), English or Vietnamese.")] = [],  # noqa: B006
    gender: Annotated[list[str], Query(description="men, women, unisex, boys, girls (or nam, nữ…).")] = [],  # noqa: B006
    colour: Annotated[list[str], Query(description="Colour(s), English or Vietnamese.")] = [],  # noqa: B006
    price_min: Annotated[float | None, Query(ge=0, description="Lowest price, catalogue currency.")] = None,
    price_max: Annotated[float | None, Query(ge=0, description="Highest price, catalogue currency.")] = None,
) -> SearchFilter:
    if price_min is not None and price_max is not None and price_min > price_max:
        raise HTTPException(422, f"price_min ({price_min:g}) is greater than price_max ({price_max:g})")
    genders = _values(gender, normalise_gender)
    unknown = [g for g in genders if g not in GENDERS]
    if unknown:
        raise HTTPException(422, f"unknown gender {unknown[0]!r}; use one of: {', '.join(GENDERS)}")
    return SearchFilter(
        brand=tuple(b.lower() for b in _values(brand)),
        category=_values(category, normalise_category),
        gender=genders,
        colour=_values(colour, normalise_colour),
        price_min=price_min,
        price_max=price_max,
    )


GENDERS = ("men", "women", "unisex", "boys", "girls")
FilterDep = Annotated[SearchFilter, Depends(search_filter)]


def photo_url(request: Request, product_id: int, has_photo: bool) -> str | None:
    return str(request.url_for("product_photo", product_id=product_id)) if has_photo else None


def require_api_key(
    rt: RuntimeDep,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header(description="Key from `clipshoe apikey create`.")] = None,
) -> None:
    """Write and admin endpoints. A fresh embedded demo has no keys and stays open on localhost;
    once a key exists, or CLIPSHOE_API__REQUIRE_KEY is set (the compose stack), a key is needed."""
    if not (rt.settings.api.require_key or repository.any_api_keys(session)):
        return
    if not x_api_key:
        raise HTTPException(
            401,
            "this endpoint needs an API key in the X-API-Key header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    if not repository.api_key_valid(session, x_api_key):
        raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "ApiKey"})


ApiKeyDep = Depends(require_api_key)
