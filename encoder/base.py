"""The one encoder interface: lazy loading, batching and normalisation live here.

Subclasses implement three small hooks (``_load``, ``_embed_image_batch``,
``_embed_text_batch``); everything callers see (``encode_images``/``encode_texts``)
is defined once, so every model family batches, normalises and returns dtypes the same way.
"""

from __future__ import annotations

import hashlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image

T = TypeVar("T")

DEFAULT_BATCH_SIZE = 32


def resolve_device(device: str = "auto") -> torch.device:
    """Map ``"auto"`` to cuda when present, else cpu; pass anything else to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def slug(text: str) -> str:
    """Lowercase ``[a-z0-9_]`` form of a name: vector collection names must be portable."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def content_hash(tensors: Mapping[str, torch.Tensor], extra: str = "", length: int = 8) -> str:
    """Short stable hash of named tensors (raw bytes, sorted by name) plus a config string.

    Hashing bytes rather than file paths means two copies of the same weights share a
    version, and any change to a single weight gives a new one (a new vector collection).
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(extra.encode())
    for key in sorted(tensors):
        tensor = tensors[key].detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensors[key].shape)}".encode())
        # view as bytes so bfloat16 and friends hash too (numpy has no bfloat16)
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:length]


class Encoder(ABC):
    """Maps images and texts into one space of L2-normalised float32 vectors."""

    default_batch_size: int = DEFAULT_BATCH_SIZE

    def __init__(self, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self._loaded = False
        # API request threads share one cached encoder: the first calls must not load twice.
        self._load_lock = threading.Lock()
        self._module_list: tuple[tuple[int, ...], list[torch.nn.Module]] = ((), [])

    # -- identity ---------------------------------------------------------------
    @property
    @abstractmethod
    def name(self) -> str:
        """Registry name, e.g. ``base``, ``default``, ``hf:openai/clip-vit-base-patch32``."""

    @property
    @abstractmethod
    def version(self) -> str:
        """``<slug>_<hash>`` of weights and config; names the vector collection."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of every embedding."""

    # -- hooks for subclasses ------------------------------------------------------
    @abstractmethod
    def _load(self) -> None:
        """Load weights (called at most once, on first use)."""

    @abstractmethod
    def _embed_image_batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Return (n, dim) features for one batch; normalisation happens in the base."""

    @abstractmethod
    def _embed_text_batch(self, texts: Sequence[str]) -> torch.Tensor:
        """Return (n, dim) features for one batch; normalisation happens in the base."""

    def _inference_modules(self) -> Sequence[torch.nn.Module]:
        """Modules to switch to eval while encoding (and restore after)."""
        return ()

    # -- public API ------------------------------------------------------------------
    def ensure_loaded(self) -> Encoder:
        """Load the weights now instead of on first use (e.g. at worker start)."""
        if not self._loaded:
            with self._load_lock:
                if not self._loaded:
                    self._load()
                    self._loaded = True
        return self

    def encode_images(self, images: Sequence[Image.Image], batch_size: int | None = None) -> np.ndarray:
        """Embed PIL images: float32 (n, dim), unit-length rows."""
        return self._encode(images, self._embed_image_batch, batch_size)

    def encode_texts(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed texts (English or Vietnamese): float32 (n, dim), unit-length rows."""
        if isinstance(texts, str):
            raise TypeError("encode_texts takes a sequence of strings, not one string")
        return self._encode(texts, self._embed_text_batch, batch_size)

    # -- the one batching loop ---------------------------------------------------------
    def _encode(
        self, items: Sequence[T], embed: Callable[[Sequence[T]], torch.Tensor], batch_size: int | None
    ) -> np.ndarray:
        size = batch_size or self.default_batch_size
        if size < 1:
            raise ValueError(f"batch_size must be >= 1, got {size}")
        if len(items) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.ensure_loaded()
        chunks: list[np.ndarray] = []
        with self._eval_mode(), torch.inference_mode(), _threads_for(len(items), self.device):
            for start in range(0, len(items), size):
                features = embed(items[start : start + size]).float()
                features = torch.nn.functional.normalize(features, dim=-1)
                chunks.append(features.cpu().numpy())
        return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        # A trainer may call encode_* for validation mid-training: BatchNorm and dropout
        # must not see those batches, and each module's mode must come back afterwards.
        # Serving never trains, so the common case only reads flags: switching every
        # submodule of both towers on each query cost ~7 ms of a 15 ms query encoding.
        roots = tuple(self._inference_modules())
        key = tuple(map(id, roots))  # the towers load lazily: the list changes once
        if self._module_list[0] != key:
            self._module_list = (key, [m for root in roots for m in root.modules()])
        training = [m for m in self._module_list[1] if m.training]
        for module in training:
            module.training = False
        try:
            yield
        finally:
            for module in training:
                module.training = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, device={str(self.device)!r})"


# A query (one or two items) is too small to split across threads: on a CPU shared with other
# work, torch's thread pool spin-waits and one query took 2.1 s on 2 threads vs 0.03-0.05 s on
# one (docs/evaluation.md). Batches keep every thread.
SMALL_INPUT = 2


@contextmanager
def _threads_for(n_items: int, device: torch.device) -> Iterator[None]:
    previous = torch.get_num_threads()
    if device.type != "cpu" or n_items > SMALL_INPUT or previous == 1:
        yield
        return
    # Process-wide setting: a batch encoding in another thread runs on one thread for the few
    # milliseconds of a query — slower, never wrong.
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def describe(encoder: Encoder) -> dict[str, Any]:
    """Identity of an encoder as plain data (for logs, API health, collection metadata)."""
    return {"name": encoder.name, "version": encoder.version, "dim": encoder.dim}
