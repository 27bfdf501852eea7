"""Which model answers right now: the collection the alias points at, and that collection's encoder.

`clipshoe reindex` and `clipshoe rollback` move the alias atomically, from any process. Every
process re-reads it at most every REFRESH_S seconds and switches collection and encoder together.
A request takes one snapshot and uses it throughout: it searches the concrete collection, not the
alias, so a swap in mid-request cannot make it encode with one model and search another's vectors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from catalog import repository
from catalog.vector_index import VectorIndex, VectorIndexError
from encoder.base import Encoder
from encoder.registry import get_encoder
from search import indexing

log = logging.getLogger(__name__)

# How stale a process's view of the alias may be. A swap waits this long before its final
# catch-up, so writers that still used the old model are caught.
REFRESH_S = 2.0


@dataclass(frozen=True)
class LiveModel:
    collection: str  # the alias's target; the alias itself while nothing is indexed yet
    encoder: Encoder
    version: str  # of the vectors in `collection` (the registry's word, else the encoder's)


class LiveModels:
    """The process's cached view of the live model (see the module docstring)."""

    def __init__(
        self,
        index: Callable[[], VectorIndex],
        sessions: sessionmaker[Session],
        alias: str,
        configured: Callable[[], Encoder],
        device: str = "auto",
        refresh_s: float = REFRESH_S,
    ):
        self._index, self._sessions, self.alias = index, sessions, alias
        self._configured, self._device, self._refresh_s = configured, device, refresh_s
        self._lock = threading.Lock()
        self._live: LiveModel | None = None
        self._checked = -float("inf")

    def get(self) -> LiveModel:
        live = self._live
        if live is not None and time.monotonic() - self._checked < self._refresh_s:
            return live
        with self._lock:
            if self._live is None or time.monotonic() - self._checked >= self._refresh_s:
                try:
                    self._live = self._resolve(self._live)
                except (SQLAlchemyError, VectorIndexError) as exc:
                    # Nothing known yet and a store is down (start-up): answer with the configured
                    # model on the alias, uncached; the failing store answers the request itself.
                    log.warning("cannot read the live model yet (%s)", exc)
                    encoder = self._configured()
                    return LiveModel(self.alias, encoder, encoder.version)
                if self._live.collection != self.alias:  # until the first ingest sets it, look each time
                    self._checked = time.monotonic()
            return self._live

    def invalidate(self) -> None:
        """Re-read the alias on the next call (this process just swapped it)."""
        self._checked = -float("inf")

    def _resolve(self, current: LiveModel | None) -> LiveModel:
        try:
            target = self._index().resolve_alias(self.alias)
            if target is None:  # nothing indexed yet: the configured model will create it
                return LiveModel(self.alias, self._configured(), self._configured().version)
            if current is not None and current.collection == target:
                return current
            with self._sessions() as s:
                row = repository.model_by_collection(s, target)
                name, version = (row.name, row.version) if row else (None, None)
        except (SQLAlchemyError, VectorIndexError) as exc:
            if current is None:
                raise
            # Keep serving the last consistent pair; the failing store answers for itself.
            log.warning("cannot re-read the live model (%s); keeping %s", exc, current.collection)
            return current
        encoder = get_encoder(name, self._device) if name else self._configured()
        if version is None and indexing.collection_name(encoder) != target:
            log.error(
                "alias %s points at %s, which neither the model registry nor the configured model "
                "(%s) explains: queries may not match its vectors; run `clipshoe doctor`",
                self.alias,
                target,
                encoder.name,
            )
        elif version is not None and encoder.version != version:
            log.error(
                "live model %s was registered as %s but now loads as %s (its checkpoint changed): "
                "run `clipshoe reindex --model %s`",
                name,
                version,
                encoder.version,
                name,
            )
        log.info("live model: %s in %s", version or encoder.version, target)
        return LiveModel(target, encoder, version or encoder.version)
