"""Products: details, photo, similar shoes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from api.convert import product_detail, search_response
from api.deps import FilterDep, RuntimeDep, SearchDep, SessionDep
from api.schemas import ProductDetail, SearchResponse
from catalog import repository
from catalog.models import Product
from search.service import Mode, SearchResult, SearchService

router = APIRouter(prefix="/products", tags=["products"])


def _product(session: SessionDep, product_id: int) -> Product:
    p = repository.get_product(session, product_id)
    if p is None:
        raise HTTPException(404, f"product {product_id} not found")
    return p


@router.get("/recommend", response_model=SearchResponse)
def recommend(
    request: Request,
    session: SessionDep,
    service: SearchDep,
    flt: FilterDep,
    positive: Annotated[list[int], Query(description="Products to find more like.")],
    negative: Annotated[list[int], Query(description="Products to steer away from.")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchResponse:
    """More like these, not like those (positive and negative example products)."""
    pos = [_product(session, i) for i in positive]
    neg = [_product(session, i) for i in negative]
    hits = service.recommend(pos, neg, flt=flt, limit=limit, offset=offset)
    return _by_photo(request, service, SearchResult(hits, flt), limit, offset)


@router.get("/{product_id}", response_model=ProductDetail)
def get_product(request: Request, session: SessionDep, product_id: int) -> ProductDetail:
    """One product with all its stored metadata."""
    return product_detail(request, _product(session, product_id))


@router.get("/{product_id}/photo", name="product_photo", response_class=FileResponse)
def product_photo(rt: RuntimeDep, session: SessionDep, product_id: int) -> FileResponse:
    """The product's stored photo (normalised JPEG)."""
    p = _product(session, product_id)
    if not p.image_path:
        raise HTTPException(404, f"product {product_id} has no photo")
    path = rt.settings.media_dir / p.image_path
    if not path.is_file():
        raise HTTPException(404, f"photo of product {product_id} is missing from the media store")
    # Content-addressed: the bytes at this path never change, so clients may cache for long.
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/{product_id}/similar", response_model=SearchResponse)
def similar_products(
    request: Request,
    session: SessionDep,
    service: SearchDep,
    flt: FilterDep,
    product_id: int,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchResponse:
    """Shoes that look like this one, itself left out."""
    p = _product(session, product_id)
    hits = service.similar(p, flt=flt, limit=limit, offset=offset)
    return _by_photo(request, service, SearchResult(hits, flt), limit, offset)


def _by_photo(
    request: Request, service: SearchService, result: SearchResult, limit: int, offset: int
) -> SearchResponse:
    """A search answered from example products' photo vectors (no query text)."""
    return search_response(
        request,
        result,
        query=None,
        mode=Mode.image,
        model=service.encoder.name,
        model_version=service.model_version,
        limit=limit,
        offset=offset,
    )
