"""Search: query → intent + vectors → the index (filtered, fused) → products from the SQL store.

The API and `clipshoe eval` both call this, so what is evaluated is what is served.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from catalog import repository
from catalog.models import Product
from catalog.vector_index import CollectionNotFound, Hit, SearchFilter, VectorIndex, VectorQuery
from encoder.base import Encoder
from ingest.normalise import folded_key
from search import lexical
from search.explain import Explanation, explain
from search.facets import Facets, facets
from search.query import Kind, ParsedQuery, Understood, parse_query


class Mode(StrEnum):
    image = "image"  # the query against product photos only: the encoder's cross-modal test
    dense = "dense"  # every dense vector (photo and title)
    lexical = "lexical"  # sparse lexical only
    hybrid = "hybrid"  # dense + lexical + query understanding, fused with RRF: what the API serves


# Grouped search fetches this many times the requested depth before collapsing duplicates.
GROUP_OVERFETCH = 3
MAX_GROUP_WINDOW = 1000

# A shopper who asks for men's shoes is shown unisex ones too.
GENDER_WITH_UNISEX = {"men": ("men", "unisex"), "women": ("women", "unisex")}


@dataclass
class SearchHit:
    product: Product
    score: float
    explanation: Explanation | None = None
    offers: repository.Offers | None = None  # set when results are grouped


@dataclass
class SearchResult:
    hits: list[SearchHit]
    filters: SearchFilter  # what was applied: the caller's filters plus the understood ones
    understood: list[Understood] = field(default_factory=list)


class CatalogueFacts:
    """Catalogue-wide facts the query path needs — brand names (for intent and for display) and
    the main currency — read once and refreshed at most once a minute, never per request."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 60.0):
        self._sessions, self._ttl = sessions, ttl
        self._loaded = -float("inf")
        self._lock = threading.Lock()
        self._intent_brands: dict[str, str] = {}
        self._display: dict[str, str] = {}
        self._currency = "VND"

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._loaded <= self._ttl:
                return
            with self._sessions() as s:
                names = repository.distinct_brands(s)
                currency = repository.main_currency(s)
            # Two-letter keys ("hm") would fire on ordinary words; brands that short are rare.
            self._intent_brands = {k: n for n in names if len(k := folded_key(n)) >= 3}
            self._display = {n.lower(): n for n in names}
            self._currency = currency or "VND"
            self._loaded = time.monotonic()

    def intent_brands(self) -> dict[str, str]:
        """Folded brand key → display name, for reading brands in query text."""
        self._refresh()
        return self._intent_brands

    def brand_display(self, key: str) -> str:
        """The catalogue's spelling of a lowercase brand key (as the index stores it)."""
        self._refresh()
        return self._display.get(key, key)

    def currency(self) -> str:
        self._refresh()
        return self._currency


def apply_intent(flt: SearchFilter, parsed: ParsedQuery, ignore: frozenset[str]) -> SearchFilter:
    """Understood values fill the filters the caller left empty; the caller's own always win."""
    changes: dict[str, object] = {}

    def wanted(kind: Kind) -> list:
        return [] if kind in ignore else parsed.values(kind)

    if not flt.brand and (brands := wanted("brand")):
        changes["brand"] = tuple(str(b).lower() for b in brands)
    if not flt.gender and (genders := wanted("gender")):
        changes["gender"] = tuple(dict.fromkeys(g for x in genders for g in GENDER_WITH_UNISEX.get(x, (x,))))
    if not flt.colour and (colours := wanted("colour")):
        changes["colour"] = tuple(colours)
    if flt.price_min is None and (lo := wanted("price_min")):
        changes["price_min"] = float(lo[0])
    if flt.price_max is None and (hi := wanted("price_max")):
        changes["price_max"] = float(hi[0])
    return replace(flt, **changes) if changes else flt


class SearchService:
    def __init__(
        self,
        index: VectorIndex,
        encoder: Encoder,
        sessions: sessionmaker[Session],
        collection: str,
        model_version: str | None = None,
    ):
        self.index = index
        self.encoder = encoder
        self.sessions = sessions
        self.collection = collection  # the live collection (Runtime.search), or an alias
        # What responses report: the version of the vectors in `collection` (search/live_model.py).
        self.model_version = model_version or encoder.version
        self.facts = CatalogueFacts(sessions)

    def text_queries(self, text: str, mode: Mode, vector: np.ndarray | None = None) -> list[VectorQuery]:
        queries: list[VectorQuery] = []
        if mode != Mode.lexical:
            vec = vector if vector is not None else self.encoder.encode_texts([text])[0]
            queries.append(VectorQuery(using="image", vector=vec))
            if mode != Mode.image:
                queries.append(VectorQuery(using="text", vector=vec))
        if mode in (Mode.lexical, Mode.hybrid):
            sparse = lexical.query_vector(text)
            if sparse.indices:
                queries.append(VectorQuery(using="lexical", vector=sparse))
        return queries

    def understand(
        self, text: str, flt: SearchFilter, ignore: frozenset[str] = frozenset()
    ) -> tuple[str, SearchFilter, list[Understood]]:
        """Read intent from the text: (text for the encoders, filters applied, what was understood)."""
        parsed = parse_query(text, self.facts.intent_brands())
        understood = [u for u in parsed.understood if u.kind not in ignore]
        return parsed.text, apply_intent(flt, parsed, ignore), understood

    def facet_counts(
        self,
        text: str | None,
        flt: SearchFilter,
        understand: bool = True,
        ignore: frozenset[str] = frozenset(),
    ) -> tuple[Facets, SearchFilter, list[Understood], str]:
        """Facets for a query's intent and the filters: (facets, filters applied, understood, currency)."""
        understood: list[Understood] = []
        if text and text.strip() and understand:
            _, flt, understood = self.understand(text.strip(), flt, ignore)
        currency = self.facts.currency()
        counts = facets(self.index, self.collection, flt, currency)
        # The index keeps brands lowercase for filtering; show them as the catalogue spells them.
        counts.values["brand"] = {self.facts.brand_display(k): n for k, n in counts.values["brand"].items()}
        return counts, flt, understood, currency

    def search(
        self,
        text: str | None = None,
        image: Image.Image | None = None,
        flt: SearchFilter | None = None,
        mode: Mode = Mode.hybrid,
        limit: int = 20,
        offset: int = 0,
        understand: bool = True,
        ignore: frozenset[str] = frozenset(),
        explain_hits: bool = False,
        group: bool = False,
    ) -> SearchResult:
        flt = flt or SearchFilter()
        queries: list[VectorQuery] = []
        understood: list[Understood] = []
        text = (text or "").strip()
        text_vec = image_vec = None
        if text:
            # Intent is part of what hybrid serves; the single-signal modes measure the signals alone.
            if understand and mode == Mode.hybrid:
                text, flt, understood = self.understand(text, flt, ignore)
            if mode != Mode.lexical:
                text_vec = self.encoder.encode_texts([text])[0]
            queries += self.text_queries(text, mode, text_vec)
            queries += self._boosts(understood, flt, text_vec)
        if image is not None:
            image_vec = self.encoder.encode_images([image])[0]
            queries.append(VectorQuery(using="image", vector=image_vec))
        if not queries:
            return SearchResult([], flt, understood)
        hits = self._run(queries, flt, limit, offset, group)
        if explain_hits and hits:
            why = explain(
                self.index, self.collection, [h.product for h in hits], text or None, text_vec, image_vec
            )
            for h, e in zip(hits, why, strict=True):
                h.explanation = e
        return SearchResult(hits, flt, understood)

    @staticmethod
    def _boosts(understood: list[Understood], flt: SearchFilter, vec: np.ndarray | None) -> list[VectorQuery]:
        """An understood category is a boost, not a filter: catalogues name types differently
        ("sneakers" may be listed as casual shoes), so the other products stay reachable."""
        categories = tuple(dict.fromkeys(str(u.value) for u in understood if u.kind == "category"))
        if not categories or flt.category or vec is None:
            return []
        return [VectorQuery(using="image", vector=vec, filter=SearchFilter(category=categories), weight=1.5)]

    def similar(
        self, product: Product, flt: SearchFilter | None = None, limit: int = 20, offset: int = 0
    ) -> list[SearchHit]:
        """Products that look like this one (its photo vector), itself left out."""
        flt = (flt or SearchFilter()).with_excluded([product.point_id])
        using = "image" if product.image_path else "text"
        return self._run([VectorQuery(using=using, point_id=product.point_id)], flt, limit, offset)

    def recommend(
        self,
        positive: list[Product],
        negative: list[Product],
        flt: SearchFilter | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[SearchHit]:
        """More like these, less like those: Qdrant's average-vector recommendation,
        avg(positive) + (avg(positive) - avg(negative)), on photo vectors; examples left out."""
        examples = [p.point_id for p in (*positive, *negative)]
        flt = (flt or SearchFilter()).with_excluded(examples)
        stored = {p.id: p for p in self.index.retrieve(self.collection, examples, with_vectors=True)}

        def mean(products: list[Product]) -> np.ndarray | None:
            vecs = [
                np.asarray(stored[p.point_id].vectors["image"])
                for p in products
                if p.point_id in stored and "image" in stored[p.point_id].vectors
            ]
            return np.mean(vecs, axis=0) if vecs else None

        pos, neg = mean(positive), mean(negative)
        if pos is None:
            return []
        target = pos if neg is None else 2 * pos - neg
        return self._run([VectorQuery(using="image", vector=target)], flt, limit, offset)

    def _run(
        self,
        queries: list[VectorQuery],
        flt: SearchFilter | None,
        limit: int,
        offset: int,
        group: bool = False,
    ) -> list[SearchHit]:
        try:
            if group:
                hits = self._grouped(queries, flt, limit, offset)
            else:
                hits = self.index.search(self.collection, queries, flt=flt, limit=limit, offset=offset)
        except CollectionNotFound:  # nothing ingested yet: an empty catalogue, not an error
            return []
        with self.sessions() as session:
            products = repository.products_by_point_ids(session, [h.id for h in hits])
            offers = repository.group_offers(session, [_group_of(h) for h in hits]) if group else {}
        # A point whose product row is gone (deleted between index and read) is skipped.
        return [
            SearchHit(products[h.id], h.score, offers=offers.get(_group_of(h)))
            for h in hits
            if h.id in products
        ]

    def _grouped(
        self, queries: list[VectorQuery], flt: SearchFilter | None, limit: int, offset: int
    ) -> list[Hit]:
        """One hit per group (its best-ranked listing). Pages are cut from a collapsed window
        fetched from the top, so page boundaries stay stable."""
        window = min(MAX_GROUP_WINDOW, (offset + limit) * GROUP_OVERFETCH)
        seen: set[str] = set()
        collapsed: list[Hit] = []
        for h in self.index.search(self.collection, queries, flt=flt, limit=window, offset=0):
            if (g := _group_of(h)) not in seen:
                seen.add(g)
                collapsed.append(h)
        return collapsed[offset : offset + limit]


def _group_of(hit: Hit) -> str:
    return str(hit.payload.get("group") or hit.id)
