"""Response and request shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    feed: str = Field(description="Path of a feed file readable by the server (styles.csv layout or JSONL).")
    format: str | None = Field(None, description="'myntra' or 'jsonl'; detected when omitted.")
    source: str | None = Field(None, description="Source name for JSONL feeds (e.g. 'shopee').")


class IngestErrorOut(BaseModel):
    line: int | None
    source_id: str | None
    stage: str
    reason: str


class IngestJobOut(BaseModel):
    id: int
    status: str
    feed: str
    format: str | None
    source: str | None
    total: int
    indexed: int
    unchanged: int
    failed: int
    batches_total: int
    batches_done: int
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors: list[IngestErrorOut] = []


class Health(BaseModel):
    status: str
    model: str
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
