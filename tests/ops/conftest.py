"""Fixtures of the operations tests."""

from __future__ import annotations

import pytest

from tests.ops.helpers import perturbed_copy, tiny_clip


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Names (`hf:<folder>`) of two tiny models of one architecture."""
    root = tmp_path_factory.mktemp("tiny_models")
    first = tiny_clip(root / "tiny_a")
    second = perturbed_copy(first, root / "tiny_b", seed=1)
    return f"hf:{first}", f"hf:{second}"
