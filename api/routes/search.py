"""Search by text, by photo, or both."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile

from api.convert import filters_out, search_response
from api.deps import FilterDep, RuntimeDep, SearchDep
from api.schemas import FacetsResponse, PriceBucketOut, SearchResponse, UnderstoodOut
from ingest.images import ImageRejected, validate_image
from search.query import KINDS
from search.service import Mode

router = APIRouter(tags=["search"])

Limit = Annotated[int, Query(ge=1, le=100, description="Results per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000, description="Results to skip (pagination).")]
ModeParam = Annotated[Mode, Query(description="image, dense, lexical or hybrid (default).")]
Understand = Annotated[bool, Query(description="Read filters (price, gender, colour, brand) from the text.")]
Group = Annotated[bool, Query(description="Show listings of the same shoe once, with their offers.")]
Ignore = Annotated[list[str], Query(description=f"Understood kinds to drop: {', '.join(KINDS)}.")]


def _ignored(ignore: list[str]) -> frozenset[str]:
    kinds = {k.strip() for item in ignore for k in item.split(",") if k.strip()}
    unknown = kinds - set(KINDS)
    if unknown:
        raise HTTPException(422, f"ignore: unknown kind {sorted(unknown)[0]!r}; use {', '.join(KINDS)}")
    return frozenset(kinds)


@router.get("/search", response_model=SearchResponse)
def search_text(
    request: Request,
    service: SearchDep,
    flt: FilterDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What the shopper typed.")],
    limit: Limit = 20,
    offset: Offset = 0,
    mode: ModeParam = Mode.hybrid,
    understand: Understand = True,
    ignore: Ignore = [],  # noqa: B006
    group: Group = True,
) -> SearchResponse:
    """Search shoes by a description in English or Vietnamese, with optional filters."""
    if not q.strip():
        raise HTTPException(422, "q must contain some text")
    result = service.search(
        text=q,
        flt=flt,
        mode=mode,
        limit=limit,
        offset=offset,
        understand=understand,
        ignore=_ignored(ignore),
        explain_hits=True,
        group=group,
    )
    return search_response(
        request,
        result,
        query=q,
        mode=mode,
        model=service.encoder.name,
        model_version=service.model_version,
        limit=limit,
        offset=offset,
    )


@router.post("/search/image", response_model=SearchResponse)
async def search_image(
    request: Request,
    rt: RuntimeDep,
    service: SearchDep,
    flt: FilterDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP photo of a shoe.")],
    q: Annotated[
        str | None, Form(max_length=500, description="Optional text to fuse with the photo.")
    ] = None,
    limit: Limit = 20,
    offset: Offset = 0,
    understand: Understand = True,
    ignore: Ignore = [],  # noqa: B006
    group: Group = True,
) -> SearchResponse:
    """Search shoes that look like an uploaded photo (optionally fused with text: "like this but red")."""
    cap = rt.settings.api.max_upload_bytes
    data = await file.read(cap + 1)
    if len(data) > cap:
        raise HTTPException(413, f"photo is larger than {cap // (1024 * 1024)} MB")
    try:
        photo = validate_image(data, max_bytes=cap, max_pixels=rt.settings.ingest.max_image_pixels)
    except ImageRejected as exc:
        raise HTTPException(400, f"unusable photo: {exc.reason}") from exc
    result = service.search(
        text=q,
        image=photo.image,
        flt=flt,
        mode=Mode.hybrid,
        limit=limit,
        offset=offset,
        understand=understand,
        ignore=_ignored(ignore),
        explain_hits=True,
        group=group,
    )
    return search_response(
        request,
        result,
        query=q,
        mode="image" if not q else "hybrid",
        model=service.encoder.name,
        model_version=service.model_version,
        limit=limit,
        offset=offset,
    )


@router.get("/search/facets", response_model=FacetsResponse)
def search_facets(
    service: SearchDep,
    flt: FilterDep,
    q: Annotated[
        str | None, Query(max_length=500, description="Query whose intent narrows the facets.")
    ] = None,
    understand: Understand = True,
    ignore: Ignore = [],  # noqa: B006
) -> FacetsResponse:
    """Counts by brand, category, gender, colour and price range for the current query and filters."""
    f, flt, understood, currency = service.facet_counts(q, flt, understand, _ignored(ignore))
    return FacetsResponse(
        query=q,
        currency=currency,
        filters=filters_out(flt),
        understood=[UnderstoodOut(kind=u.kind, value=u.value, phrase=u.phrase) for u in understood],
        price=[PriceBucketOut(min=b.min, max=b.max, count=b.count) for b in f.price],
        **f.values,
    )
