"""The caption cache gives the same text features as the full tower, with the top trainable."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from encoder.dual import TowerEncoder
from encoder.training.config import TrainConfig
from encoder.training.setup import tower_config
from encoder.training.text_cache import SHORT_TOKENS, TextCache

# LONG is longer than SHORT_TOKENS: it runs apart from the others and comes back in place.
LONG = "Black round toed synthetic upper with white overlays, central lace-ups and a padded tongue. " * 4
TEXTS = [
    "black boots for women",
    "giày thể thao nam màu đỏ",
    "Puma Men's Ballistic Spike White Green Shoe",
    LONG,
]


@pytest.mark.parametrize("n_layers", [0, 1, 2])
def test_cached_features_match_the_tower(n_layers: int, tmp_path: Path) -> None:
    encoder = TowerEncoder(tower_config(TrainConfig()), device="cpu").ensure_loaded()
    assert isinstance(encoder, TowerEncoder)
    cache = TextCache(encoder, n_layers, TEXTS, tmp_path)
    assert "giay the thao nam mau do" in cache  # folded, as the tower sees it
    i = cache.index[LONG]
    assert n_layers == 0 or cache.offsets[i + 1] - cache.offsets[i] > SHORT_TOKENS
    with torch.no_grad():
        cached, full = cache.features(TEXTS[::-1]), encoder.text_features(TEXTS[::-1])
    torch.testing.assert_close(cached, full, atol=2e-4, rtol=0)
    again = TextCache(encoder, n_layers, TEXTS, tmp_path)  # read back from disk
    torch.testing.assert_close(again.tokens, cache.tokens)
