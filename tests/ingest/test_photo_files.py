"""Local photo files are read by one reader that refuses what is not a regular file (a FIFO would
block, /dev/zero never end), and the process's shared photo stores release their threads when one
is dropped from the cache."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from catalog.repository import SqlImageRegistry
from ingest.image_fetch import FetchLimits
from ingest.images import ImageRejected, validate_image
from ingest.photos import PhotoStore, shared_store
from tests.utils import images as factory

LIMITS = FetchLimits(max_bytes=1_000_000, concurrency=2)


@pytest.fixture
def special_files(tmp_path: Path) -> list[Path]:
    fifo = tmp_path / "photo.jpg"  # a FIFO with no writer: opening it would wait for ever
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    return [fifo, folder, Path("/dev/zero")]


def test_validation_refuses_special_files_without_reading_them(special_files: list[Path]) -> None:
    for path in special_files:
        with pytest.raises(ImageRejected, match="not a file"):
            validate_image(path, max_bytes=LIMITS.max_bytes, max_pixels=4_000_000)


def test_the_photo_store_refuses_special_files_and_stores_the_rest(
    special_files: list[Path], registry: SqlImageRegistry, tmp_path: Path
) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(factory.jpeg_bytes())
    store = PhotoStore(tmp_path / "media", limits=LIMITS, max_pixels=4_000_000)
    try:
        *refused, stored = store.store_many(registry, [*map(str, special_files), str(good)])
    finally:
        store.close()
    assert [r.reason for r in refused] == [f"not a file: {p}" for p in special_files]  # type: ignore[union-attr]
    assert not isinstance(stored, ImageRejected) and (tmp_path / "media" / stored.path).is_file()


def test_a_store_dropped_from_the_shared_cache_releases_its_threads(
    registry: SqlImageRegistry, tmp_path: Path
) -> None:
    def shared(n: int) -> PhotoStore:
        return shared_store(tmp_path / f"media-{n}", LIMITS, 4_000_000, 512, 64, 4)

    photo = tmp_path / "shoe.jpg"
    photo.write_bytes(factory.jpeg_bytes())
    before = set(threading.enumerate())
    first = shared(0)
    assert shared(0) is first  # one store per configuration
    first.store_many(registry, [str(photo)])
    threads = set(threading.enumerate()) - before
    assert threads and all(t.is_alive() for t in threads)
    for n in range(1, 5):  # four other configurations: the first is the least recently used
        shared(n)
    assert not any(t.is_alive() for t in threads)
    assert shared(0) is not first
