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
from search.service import SearchService


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.settings)

    @cached_property
    def index(self) -> VectorIndex:
        with self._lock:
            return open_index(self.settings)

    @cached_property
    def encoder(self) -> Encoder:
        with self._lock:
            return get_encoder(self.settings.encoder.model, self.settings.encoder.device)

    @cached_property
    def search(self) -> SearchService:
        return SearchService(self.index, self.encoder, self.sessions, self.alias)

    @property
    def alias(self) -> str:
        return self.settings.qdrant.alias

    def close(self) -> None:
        if "index" in self.__dict__:
            self.index.close()
            del self.__dict__["index"]


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
