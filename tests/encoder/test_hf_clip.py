"""``hf:`` names load a transformers CLIP folder (a tiny random one here)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from encoder.registry import create_encoder
from tests.encoder.factories import TINY_CLIP_DIM, shoe_like_images


def test_tiny_clip_folder_encodes_both_modalities(tiny_clip_folder: Path) -> None:
    encoder = create_encoder(f"hf:{tiny_clip_folder}", device="cpu")
    images = encoder.encode_images(shoe_like_images(5))
    texts = encoder.encode_texts(["red running shoes", "giày thể thao"])
    assert images.shape == (5, TINY_CLIP_DIM) and texts.shape == (2, TINY_CLIP_DIM)
    assert images.dtype == texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([images, texts]), axis=1), 1.0, atol=1e-5)
    assert encoder.dim == TINY_CLIP_DIM
    assert encoder.encode_texts([]).shape == (0, TINY_CLIP_DIM)


def test_tiny_clip_batching_and_version(tiny_clip_folder: Path) -> None:
    encoder = create_encoder(f"hf:{tiny_clip_folder}", device="cpu")
    images = shoe_like_images(6, seed=3)
    np.testing.assert_allclose(
        encoder.encode_images(images, batch_size=1), encoder.encode_images(images, batch_size=8), atol=1e-5
    )
    assert re.fullmatch(r"[a-z0-9_]+_[0-9a-f]{8}", encoder.version)
    assert create_encoder(f"hf:{tiny_clip_folder}", device="cpu").version == encoder.version
