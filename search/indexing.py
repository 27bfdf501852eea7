"""Products → points: what each vector encodes and what the payload holds, in one place.

Workers (batch ingest), the CLI (reindex, eval) and tests all build points through here, so a
product is represented the same way wherever it is embedded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from catalog.models import Product
from catalog.vector_index import PointData, VectorIndex
from encoder.base import Encoder
from ingest.images import load_stored
from ingest.vocab import VIETNAMESE_NAMES
from search import lexical

log = logging.getLogger(__name__)


# Payload key of the model version that made a point's vectors; not a filter, so not indexed.
MODEL_KEY = "model"


def collection_name(encoder: Encoder) -> str:
    """One collection per model version: vectors of two models never mix."""
    return f"clipshoe_{encoder.version}"


def payload(p: Product) -> dict[str, Any]:
    """Only what filtering and hydration need; metadata stays in the SQL store."""
    return {
        "product_id": p.id,
        "source": p.source.lower(),
        "brand": p.brand.lower() if p.brand else None,
        "category": p.category,
        "gender": p.gender,
        "colour": p.colour,
        "price": p.price,
        "stock": p.stock,
        "group": p.group_id or p.point_id,
    }


def dense_text(p: Product) -> str:
    """What the text vector encodes: the listing title, the most reliable text a listing has."""
    return p.title


def lexical_text(p: Product) -> str:
    """Title and attributes, each attribute in English and Vietnamese: a query in either language
    meets the same products (diacritics are folded by the tokenizer)."""
    attrs = [a for a in (p.category, p.colour, p.gender) if a]
    words = [p.title, p.brand or "", *attrs, *(VIETNAMESE_NAMES.get(a, "") for a in attrs)]
    return " ".join(w for w in words if w)


def ensure_collection(index: VectorIndex, encoder: Encoder, alias: str) -> str:
    """Create the model's collection if needed; point the alias at it when no model is live yet."""
    name = collection_name(encoder)
    index.create_collection(name, encoder.dim)
    if index.resolve_alias(alias) is None:
        index.set_alias(alias, name)
    return name


def _load_photos(products: Sequence[Product], media_dir: Path) -> list[Image.Image | None]:
    photos: list[Image.Image | None] = []
    for p in products:
        try:
            photos.append(load_stored(media_dir, p.image_path) if p.image_path else None)
        except OSError as exc:  # a stored photo gone missing: index the text, report it
            log.warning("photo of product %s unreadable: %s", p.id, exc)
            photos.append(None)
    return photos


def build_points(
    products: Sequence[Product], encoder: Encoder, media_dir: Path, batch_size: int | None = None
) -> list[PointData]:
    """Embed a batch: one image call and one text call for the whole batch (the encoder splits
    them into `batch_size` chunks, its own default when None)."""
    photos = _load_photos(products, media_dir)
    with_photo = [i for i, ph in enumerate(photos) if ph is not None]
    image_vecs = encoder.encode_images([photos[i] for i in with_photo], batch_size)  # type: ignore[misc]
    text_vecs = encoder.encode_texts([dense_text(p) for p in products], batch_size)
    image_of = {i: image_vecs[k] for k, i in enumerate(with_photo)}
    version = encoder.version  # every point records the model that made it (`clipshoe doctor`)
    points = []
    for i, p in enumerate(products):
        vectors = {"text": text_vecs[i]}
        if i in image_of:
            vectors["image"] = image_of[i]
        points.append(
            PointData(
                id=p.point_id,
                vectors=vectors,
                sparse=lexical.document_vector(lexical_text(p)),
                payload={**payload(p), MODEL_KEY: version},
            )
        )
    return points


def text_points(
    products: Sequence[Product], encoder: Encoder, batch_size: int | None = None
) -> list[PointData]:
    """After a title change: the text and lexical vectors and the payload, never the photo's vector
    (for `VectorIndex.update_vectors`)."""
    text_vecs = encoder.encode_texts([dense_text(p) for p in products], batch_size)
    return [
        PointData(
            id=p.point_id,
            vectors={"text": text_vecs[i]},
            sparse=lexical.document_vector(lexical_text(p)),
            payload=payload(p),
        )
        for i, p in enumerate(products)
    ]


def lexical_point(p: Product) -> PointData:
    """After a brand, category, colour or gender change: the lexical vector and the payload; no
    encoder call at all."""
    return PointData(
        id=p.point_id, vectors={}, sparse=lexical.document_vector(lexical_text(p)), payload=payload(p)
    )
