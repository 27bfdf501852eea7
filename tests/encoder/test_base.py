"""The shared Encoder contract, checked on a fake encoder with no weights to load."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch
from PIL import Image

from encoder.base import Encoder, content_hash, resolve_device, slug


class FakeEncoder(Encoder):
    """Deterministic features from pixel means / text lengths; counts loads and batches."""

    def __init__(self) -> None:
        super().__init__("cpu")
        self.loads = 0
        self.batches: list[int] = []
        self.layer = torch.nn.Dropout(0.5)  # behaves differently in train mode

    name = "fake"  # type: ignore[assignment]
    version = "fake_0"  # type: ignore[assignment]
    dim = 3  # type: ignore[assignment]

    def _load(self) -> None:
        self.loads += 1

    def _inference_modules(self) -> Sequence[torch.nn.Module]:
        return [self.layer]

    def _embed_image_batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        self.batches.append(len(images))
        assert not self.layer.training
        means = np.stack([np.asarray(i, dtype=np.float64).mean(axis=(0, 1)) for i in images])
        return torch.from_numpy(means + 1) * 7

    def _embed_text_batch(self, texts: Sequence[str]) -> torch.Tensor:
        self.batches.append(len(texts))
        return torch.tensor([[len(t), 1.0, 2.0] for t in texts], dtype=torch.float64)


def test_empty_input_gives_zero_rows_without_loading() -> None:
    enc = FakeEncoder()
    for out in (enc.encode_images([]), enc.encode_texts([])):
        assert out.shape == (0, 3)
        assert out.dtype == np.float32
    assert enc.loads == 0


def test_outputs_are_float32_unit_rows_and_load_once() -> None:
    enc = FakeEncoder()
    out = enc.encode_texts(["a", "bbbb", "giày đỏ"])
    assert out.dtype == np.float32 and out.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    enc.encode_texts(["again"])
    assert enc.loads == 1


def test_batching_splits_and_preserves_order() -> None:
    enc = FakeEncoder()
    texts = [str(i) * (i + 1) for i in range(10)]
    whole = enc.encode_texts(texts, batch_size=100)
    enc.batches.clear()
    split = enc.encode_texts(texts, batch_size=4)
    assert enc.batches == [4, 4, 2]
    np.testing.assert_allclose(whole, split, atol=1e-7)


def test_eval_mode_during_encoding_and_restored_after() -> None:
    enc = FakeEncoder()
    enc.layer.train()
    enc.encode_images([Image.new("RGB", (4, 4), (10, 20, 30))])
    assert enc.layer.training


def test_mixed_modes_come_back_module_by_module() -> None:
    """A trainer keeps the tower frozen (eval) and a few layers in train mode: both survive."""
    enc = FakeEncoder()
    frozen, unfrozen = torch.nn.Dropout(0.5), torch.nn.Dropout(0.5)
    enc.layer = torch.nn.Sequential(frozen, unfrozen)  # type: ignore[assignment]
    enc.layer.eval()
    unfrozen.train()
    enc.encode_texts(["giày"])
    assert (enc.layer.training, frozen.training, unfrozen.training) == (False, False, True)


def test_rejects_a_bare_string_and_bad_batch_size() -> None:
    enc = FakeEncoder()
    with pytest.raises(TypeError):
        enc.encode_texts("red shoes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        enc.encode_texts(["x"], batch_size=-1)


def test_helpers() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    assert slug("hf:openai/clip-vit-base-patch32") == "hf_openai_clip_vit_base_patch32"
    a = {"w": torch.ones(2, 2)}
    assert content_hash(a) == content_hash({"w": torch.ones(2, 2)})
    assert content_hash(a) != content_hash({"w": torch.ones(2, 2) * 2})
    assert content_hash(a) != content_hash(a, extra="other config")
    assert content_hash({"w": torch.ones(2, dtype=torch.bfloat16)})  # dtypes numpy lacks
