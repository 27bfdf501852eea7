from __future__ import annotations

from pathlib import Path

import pytest

from encoder.dual import TowerEncoder
from tests.encoder.factories import save_tiny_clip


@pytest.fixture(scope="session")
def base_encoder() -> TowerEncoder:
    """The packaged towers, loaded once for the session (≈10 s); tests must not mutate it."""
    return TowerEncoder(device="cpu").ensure_loaded()  # type: ignore[return-value]


@pytest.fixture(scope="session")
def tiny_clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))
