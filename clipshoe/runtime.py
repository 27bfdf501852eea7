"""The process's shared resources: settings, SQL sessions, the vector index, the encoder.

One per process. In embedded mode the API and the in-process tasks share it, which is also
what the embedded Qdrant store requires (one owner per store).
"""

from __future__ import annotations

import threading
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from catalog.db import session_factory
from catalog.vector_index import VectorIndex, open_index
from clipshoe.settings import Settings, get_settings
from encoder.base import Encoder
from encoder.registry import get_encoder
from search.live_model import LiveModels
from search.service import SearchService


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._services: dict[str, SearchService] = {}

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.settings)

    @cached_property
    def index(self) -> VectorIndex:
        with self._lock:
            return open_index(self.settings)

    @property
    def configured_encoder(self) -> Encoder:
        """The model settings name: the first one indexed; later, the registry decides (reindex)."""
        return get_encoder(self.settings.encoder.model, self.settings.encoder.device)

    @cached_property
    def live(self) -> LiveModels:
        return LiveModels(
            lambda: self.index,
            self.sessions,
            self.alias,
            lambda: self.configured_encoder,
            self.settings.encoder.device,
        )

    @property
    def encoder(self) -> Encoder:
        """The live model's encoder: the one whose vectors the alias's collection holds."""
        return self.live.get().encoder

    @property
    def search(self) -> SearchService:
        """A search service bound to one live snapshot (collection and encoder together)."""
        live = self.live.get()
        service = self._services.get(live.collection)
        if service is None:
            service = SearchService(self.index, live.encoder, self.sessions, live.collection, live.version)
            self._services = {live.collection: service}  # the old model's service is done with
        return service

    @property
    def alias(self) -> str:
        return self.settings.qdrant.alias

    def close(self) -> None:
        if "index" in self.__dict__:
            self.index.close()
            del self.__dict__["index"]
        self._services = {}  # they hold the closed index


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime(get_settings())
        return _runtime


def reset_runtime() -> None:
    """Close and forget the process runtime (tests, or after settings change)."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
        get_settings.cache_clear()
