"""ORM rows → response models, in one place."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request

from api.deps import photo_url
from api.schemas import (
    AppliedFilters,
    DeadLetterOut,
    ExplanationOut,
    Hit,
    IngestErrorOut,
    IngestJobOut,
    ProductDetail,
    ProductOut,
    SearchResponse,
    UnderstoodOut,
)
from catalog.models import IngestError, IngestJob, Product
from catalog.vector_index import SearchFilter
from search.service import SearchHit, SearchResult
from workers.progress import job_progress

P = TypeVar("P", bound=ProductOut)


def _from_row(model: type[P], request: Request, p: Product, **extra: object) -> P:
    """The response model's fields read from the row (one field list: the model's), plus extras."""
    row = {name: getattr(p, name) for name in model.model_fields if hasattr(p, name)}
    return model(**{**row, "photo_url": photo_url(request, p.id, p.image_path is not None), **extra})


def product_out(request: Request, p: Product) -> ProductOut:
    return _from_row(ProductOut, request, p)


def product_detail(request: Request, p: Product) -> ProductDetail:
    return _from_row(ProductDetail, request, p, attributes=p.attributes or {})


def hit_out(request: Request, h: SearchHit) -> Hit:
    why = h.explanation
    return _from_row(
        Hit,
        request,
        h.product,
        score=round(h.score, 6),
        explanation=ExplanationOut(photo=why.photo, title=why.title, words=why.words) if why else None,
        offers=h.offers.count if h.offers else None,
        offers_price_min=h.offers.price_min if h.offers else None,
        offers_price_max=h.offers.price_max if h.offers else None,
    )


def filters_out(f: SearchFilter) -> AppliedFilters:
    return AppliedFilters(
        brand=list(f.brand),
        category=list(f.category),
        gender=list(f.gender),
        colour=list(f.colour),
        price_min=f.price_min,
        price_max=f.price_max,
    )


def job_out(job: IngestJob, errors: list[IngestError] | None = None) -> IngestJobOut:
    """The job's row (the response model's own field list) with its progress, rate and ETA."""
    computed = {"done", "rate", "eta_seconds", "errors"}
    row = {name: getattr(job, name) for name in IngestJobOut.model_fields.keys() - computed}
    progress = job_progress(job)
    return IngestJobOut(
        **row,
        done=progress.done,
        rate=None if progress.rate is None else round(progress.rate, 3),
        eta_seconds=None if progress.eta_seconds is None else round(progress.eta_seconds, 1),
        errors=[IngestErrorOut.model_validate(e, from_attributes=True) for e in errors or []],
    )


def dead_letter_out(e: IngestError) -> DeadLetterOut:
    return DeadLetterOut.model_validate(e, from_attributes=True)


def search_response(
    request: Request,
    result: SearchResult,
    *,
    query: str | None,
    mode: str,
    model: str,
    limit: int,
    offset: int,
    model_version: str | None = None,
) -> SearchResponse:
    return SearchResponse(
        query=query,
        mode=mode,
        model=model,
        model_version=model_version,
        filters=filters_out(result.filters),
        limit=limit,
        offset=offset,
        understood=[UnderstoodOut(kind=u.kind, value=u.value, phrase=u.phrase) for u in result.understood],
        hits=[hit_out(request, h) for h in result.hits],
    )
