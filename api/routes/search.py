"""Search by text, by photo, or both."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from ingest.images import ImageRejected, validate_image

from api.convert import filters_out, hit_out
from api.deps import FilterDep, RuntimeDep, SearchDep
from api.schemas import SearchResponse
from search.service import Mode

router = APIRouter(tags=["search"])

Limit = Annotated[int, Query(ge=1, le=100, description="Results per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000, description="Results to skip (pagination).")]
ModeParam = Annotated[Mode, Query(description="image, dense, lexical or hybrid (default).")]


@router.get("/search", response_model=SearchResponse)
def search_text(
    request: Request,
    service: SearchDep,
    flt: FilterDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What the shopper typed.")],
    limit: Limit = 20,
    offset: Offset = 0,
    mode: ModeParam = Mode.hybrid,
) -> SearchResponse:
    """Search shoes by a description in English or Vietnamese, with optional filters."""
    if not q.strip():
        raise HTTPException(422, "q must contain some text")
    hits = service.search(text=q, flt=flt, mode=mode, limit=limit, offset=offset)
    return SearchResponse(
        query=q,
        mode=mode,
        model=service.encoder.name,
        filters=filters_out(flt),
        limit=limit,
        offset=offset,
        hits=[hit_out(request, h) for h in hits],
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
) -> SearchResponse:
    """Search shoes that look like an uploaded photo (optionally fused with text)."""
    cap = rt.settings.api.max_upload_bytes
    data = await file.read(cap + 1)
    if len(data) > cap:
        raise HTTPException(413, f"photo is larger than {cap // (1024 * 1024)} MB")
    try:
        photo = validate_image(data, max_bytes=cap, max_pixels=rt.settings.ingest.max_image_pixels)
    except ImageRejected as exc:
        raise HTTPException(400, f"unusable photo: {exc.reason}") from exc
    hits = service.search(text=q, image=photo.image, flt=flt, mode=Mode.hybrid, limit=limit, offset=offset)
    return SearchResponse(
        query=q,
        mode="image" if not q else "hybrid",
        model=service.encoder.name,
        filters=filters_out(flt),
        limit=limit,
        offset=offset,
        hits=[hit_out(request, h) for h in hits],
    )
