"""Search: query → vectors → the index (filtered, fused) → products from the SQL store.

The API and `clipshoe eval` both call this, so what is evaluated is what is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from catalog import repository
from catalog.models import Product
from catalog.vector_index import CollectionNotFound, SearchFilter, VectorIndex, VectorQuery
from encoder.base import Encoder
from search import lexical


class Mode(StrEnum):
    image = "image"  # the query against product photos only: the encoder's cross-modal test
    dense = "dense"  # every dense vector (photo and title)
    lexical = "lexical"  # sparse lexical only
    hybrid = "hybrid"  # dense + lexical, fused with RRF: what the API serves by default


@dataclass
class SearchHit:
    product: Product
    score: float


class SearchService:
    def __init__(
        self, index: VectorIndex, encoder: Encoder, sessions: sessionmaker[Session], collection: str
    ):
        self.index = index
        self.encoder = encoder
        self.sessions = sessions
        self.collection = collection  # usually the live alias

    def text_queries(self, text: str, mode: Mode) -> list[VectorQuery]:
        queries: list[VectorQuery] = []
        if mode != Mode.lexical:
            vec = self.encoder.encode_texts([text])[0]
            queries.append(VectorQuery(using="image", vector=vec))
            if mode != Mode.image:
                queries.append(VectorQuery(using="text", vector=vec))
        if mode in (Mode.lexical, Mode.hybrid):
            sparse = lexical.query_vector(text)
            if sparse.indices:
                queries.append(VectorQuery(using="lexical", vector=sparse))
        return queries

    def image_queries(self, image: Image.Image) -> list[VectorQuery]:
        return [VectorQuery(using="image", vector=self.encoder.encode_images([image])[0])]

    def search(
        self,
        text: str | None = None,
        image: Image.Image | None = None,
        flt: SearchFilter | None = None,
        mode: Mode = Mode.hybrid,
        limit: int = 20,
        offset: int = 0,
    ) -> list[SearchHit]:
        queries: list[VectorQuery] = []
        if text and text.strip():
            queries += self.text_queries(text.strip(), mode)
        if image is not None:
            queries += self.image_queries(image)
        if not queries:
            return []
        return self._run(queries, flt, limit, offset)

    def similar(
        self, product: Product, flt: SearchFilter | None = None, limit: int = 20, offset: int = 0
    ) -> list[SearchHit]:
        """Products that look like this one (its photo vector), itself left out."""
        base = flt or SearchFilter()
        flt = SearchFilter(**{**base.__dict__, "exclude_ids": (*base.exclude_ids, product.point_id)})
        using = "image" if product.image_path else "text"
        return self._run([VectorQuery(using=using, point_id=product.point_id)], flt, limit, offset)

    def _run(
        self, queries: list[VectorQuery], flt: SearchFilter | None, limit: int, offset: int
    ) -> list[SearchHit]:
        try:
            hits = self.index.search(self.collection, queries, flt=flt, limit=limit, offset=offset)
        except CollectionNotFound:  # nothing ingested yet: an empty catalogue, not an error
            return []
        with self.sessions() as session:
            products = repository.products_by_point_ids(session, [h.id for h in hits])
        # A point whose product row is gone (deleted between index and read) is skipped.
        return [SearchHit(products[h.id], h.score) for h in hits if h.id in products]
