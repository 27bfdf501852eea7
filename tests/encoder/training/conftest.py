from __future__ import annotations

from pathlib import Path

import pytest

from encoder.training.dataset import build_dataset
from ingest.sample import generate_sample_catalog


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated catalogue (drawn silhouettes in distinct colours) turned into a manifest."""
    root = tmp_path_factory.mktemp("training")
    csv = generate_sample_catalog(root / "catalog", n=160, seed=3)
    build_dataset(csv, root / "dataset")
    return root / "dataset"
