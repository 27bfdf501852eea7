"""Tiny CLIP models for the operations tests: two versions that rank differently, built in seconds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.encoder.factories import save_tiny_clip


def tiny_clip(folder: Path) -> Path:
    """The encoder tests' tiny CLIP, with its tokenizer told to truncate at the model's 32
    positions (catalogue titles are longer than the tests' texts)."""
    save_tiny_clip(folder)
    config = folder / "tokenizer_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "model_max_length": 32}))
    return folder


def perturbed_copy(src: Path, dst: Path, seed: int) -> Path:
    """Another model version: the same tiny CLIP with noise on its projections (new weights, new
    hash, different rankings)."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    weights = load_file(src / "model.safetensors")
    gen = torch.Generator().manual_seed(seed)
    for key in ("visual_projection.weight", "text_projection.weight"):
        weights[key] = weights[key] + torch.randn(weights[key].shape, generator=gen) * weights[key].std()
    save_file(weights, dst / "model.safetensors", metadata={"format": "pt"})
    return dst


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Names (`hf:<folder>`) of two tiny models of one architecture."""
    root = tmp_path_factory.mktemp("tiny_models")
    first = tiny_clip(root / "tiny_a")
    second = perturbed_copy(first, root / "tiny_b", seed=1)
    return f"hf:{first}", f"hf:{second}"
