"""Response and request shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ProductOut(BaseModel):
    id: int
    source: str
    source_id: str
    title: str
    brand: str | None
    price: float | None
    currency: str
    category: str | None
    gender: str | None
    colour: str | None
    photo_url: str | None = Field(None, description="Absolute URL of the stored product photo, if any.")


class ProductDetail(ProductOut):
    description: str | None
    attributes: dict[str, Any] = {}
    url: str | None
    created_at: datetime
    updated_at: datetime


class ExplanationOut(BaseModel):
    photo: float | None = Field(None, description="Similarity of the query to the product photo.")
    title: float | None = Field(None, description="Similarity of the query to the product title.")
    words: list[str] = Field([], description="Query words found in the listing (diacritics folded).")


class Hit(ProductOut):
    score: float = Field(description="Fused rank score (RRF) or similarity; higher is better.")
    explanation: ExplanationOut | None = None
    offers: int | None = Field(None, description="Listings of this same shoe (grouped near-duplicates).")
    offers_price_min: float | None = None
    offers_price_max: float | None = None


class AppliedFilters(BaseModel):
    brand: list[str] = []
    category: list[str] = []
    gender: list[str] = []
    colour: list[str] = []
    price_min: float | None = None
    price_max: float | None = None


class UnderstoodOut(BaseModel):
    kind: str = Field(description="price_min, price_max, gender, colour, category or brand.")
    value: str | float
    phrase: str = Field(description="The words of the query it came from.")


class SearchResponse(BaseModel):
    query: str | None
    mode: str
    model: str
    model_version: str | None = Field(
        None, description="Version of the model whose vectors every hit comes from (one per response)."
    )
    filters: AppliedFilters = Field(description="Filters applied: the caller's plus those understood.")
    understood: list[UnderstoodOut] = Field([], description="Intent read from the query text.")
    limit: int
    offset: int
    hits: list[Hit]


class IngestJobIn(BaseModel):
    feed: str = Field(
        description="Path on the server, inside its feed folders (ingest.feed_roots), of a feed file "
        "(styles.csv, JSONL, CSV) or a folder (photos with sidecars, Zappos50K)."
    )
    format: str | None = Field(
        None,
        description="myntra, jsonl, csv, folder or zappos50k, or an alias the CLI takes (json, images, "
        "zappos, …); detected when omitted.",
    )
    source: str | None = Field(None, description="Source name for JSONL feeds (e.g. 'shopee').")
    priority: Literal["live", "bulk"] = Field(
        "bulk", description="'live' (a merchant's update) is processed before any queued 'bulk' work."
    )


class IngestErrorOut(BaseModel):
    line: int | None
    source_id: str | None
    stage: str = Field(description="Where it failed: feed (the row), image (the photo) or embed.")
    reason: str
    attempts: int = 1


class DeadLetterOut(IngestErrorOut):
    id: int
    job_id: int
    record: dict[str, Any] | None = Field(None, description="The item as read (feed and image stages).")
    created_at: datetime


class DeadLetterPage(BaseModel):
    total: int = Field(description="Entries matching the filters, all pages together.")
    items: list[DeadLetterOut]


class IngestJobOut(BaseModel):
    id: int
    status: str
    priority: str
    feed: str
    format: str | None
    source: str | None
    total: int = Field(description="Items in the feed.")
    read: int = Field(0, description="Items read from the feed so far.")
    done: int = Field(0, description="Items settled: indexed + updated + unchanged + failed.")
    indexed: int = Field(description="Products embedded in full (photo and text).")
    updated: int = Field(0, description="Partial updates: payload, lexical or text vector only.")
    unchanged: int
    failed: int = Field(description="Items in the dead letter.")
    images_encoded: int = 0
    texts_encoded: int = 0
    rate: float | None = Field(None, description="Items settled per second since the job started.")
    eta_seconds: float | None = Field(None, description="Time left at that rate; 0 once finished.")
    batches_total: int
    batches_done: int
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors: list[IngestErrorOut] = []


class Health(BaseModel):
    status: str
    model: str = Field(description="Name of the live model (the one whose vectors serve).")
    model_version: str = Field(description="Version of the live model, as search responses report it.")
    products: int
    indexed_points: int


class PriceBucketOut(BaseModel):
    min: float
    max: float | None = Field(description="Exclusive upper bound; null for the open last bucket.")
    count: int


class FacetsResponse(BaseModel):
    query: str | None
    currency: str
    filters: AppliedFilters
    understood: list[UnderstoodOut] = []
    brand: dict[str, int] = Field(description="Counts by brand, as the catalogue spells it.")
    category: dict[str, int]
    gender: dict[str, int]
    colour: dict[str, int]
    price: list[PriceBucketOut]
