"""TowerEncoder (`base`): shapes, batching, training hooks and the checkpoint folder."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from encoder.checkpoint import CONFIG_FILE, WEIGHTS_FILE, TowerConfig
from encoder.dual import TowerEncoder
from tests.encoder.factories import shoe_like_images

TEXTS = ["red running shoes", "giày da nam màu đen", "white sneakers", "sandal", "heels", "boots", "a", "b"]


def test_shapes_dtype_and_unit_norm(base_encoder: TowerEncoder) -> None:
    images = base_encoder.encode_images(shoe_like_images(3))
    texts = base_encoder.encode_texts(TEXTS[:2])
    for out, rows in ((images, 3), (texts, 2)):
        assert out.shape == (rows, 256) and out.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_empty_batches(base_encoder: TowerEncoder) -> None:
    assert base_encoder.encode_images([]).shape == (0, 256)
    assert base_encoder.encode_texts([]).shape == (0, 256)


def test_batch_size_does_not_change_vectors(base_encoder: TowerEncoder) -> None:
    images, texts = shoe_like_images(9, seed=1), [*TEXTS, "c"]  # 9 items: batches of 8 + 1
    enc = base_encoder
    np.testing.assert_allclose(enc.encode_images(images, 1), enc.encode_images(images, 8), atol=1e-5)
    np.testing.assert_allclose(enc.encode_texts(texts, 1), enc.encode_texts(texts, 8), atol=1e-5)


def test_version_is_stable_and_collection_safe(base_encoder: TowerEncoder) -> None:
    assert re.fullmatch(r"base_[0-9a-f]{8}", base_encoder.version)
    assert TowerEncoder(device="cpu").version == base_encoder.version  # fixed seeded init
    assert TowerEncoder(TowerConfig(dim=128), device="cpu").version != base_encoder.version


def test_version_follows_every_weight_change() -> None:
    """The version is cached (hashing the weights per ingest batch cost ~30 ms), never stale."""
    enc = TowerEncoder(device="cpu")
    first = enc.version
    assert enc.version == first
    with torch.no_grad():
        enc.image_head.weight.add_(1e-3)  # an optimizer step writes in place
    stepped = enc.version
    assert stepped != first
    enc.image_head.load_state_dict(TowerEncoder(device="cpu").image_head.state_dict())
    assert enc.version == first  # the same weights, the same version
    enc.logit_scale = torch.nn.Parameter(torch.tensor(2.0))  # a tensor replaced outright
    assert enc.version not in (first, stepped)


def test_base_heads_are_semi_orthogonal_and_logit_scale_clip_init() -> None:
    enc = TowerEncoder(device="cpu")
    for head in (enc.image_head, enc.text_head):
        w = head.weight.detach()
        torch.testing.assert_close(w @ w.T, torch.eye(w.shape[0]), atol=1e-4, rtol=0)
    assert math.isclose(enc.logit_scale.item(), math.log(1 / 0.07), rel_tol=1e-6)


def test_training_features_carry_grad(base_encoder: TowerEncoder) -> None:
    pixels = torch.stack([base_encoder.image_transform(train=True)(i) for i in shoe_like_images(2)])
    image = base_encoder.image_features(pixels)
    text = base_encoder.text_features(["red shoe", "blue shoe"])
    assert image.shape == text.shape == (2, 256)
    loss = (base_encoder.logit_scale.exp() * image @ text.T).sum()
    loss.backward()
    assert base_encoder.image_head.weight.grad is not None and base_encoder.text_head.weight.grad is not None
    assert all(p.grad is None for p in base_encoder.image_tower.parameters())  # towers stay frozen
    for param in (base_encoder.image_head.weight, base_encoder.text_head.weight, base_encoder.logit_scale):
        param.grad = None


def test_save_load_round_trip(base_encoder: TowerEncoder, tmp_path: Path) -> None:
    base_encoder.save(tmp_path / "ckpt", training={"epochs": 0})
    size = sum(f.stat().st_size for f in (tmp_path / "ckpt").iterdir())
    assert {f.name for f in (tmp_path / "ckpt").iterdir()} == {CONFIG_FILE, WEIGHTS_FILE}
    assert size < 25e6

    loaded = TowerEncoder.load(tmp_path / "ckpt", device="cpu")
    assert loaded.version == base_encoder.version
    assert loaded.config.training == {"epochs": 0}
    images = shoe_like_images(3)
    np.testing.assert_array_equal(loaded.encode_images(images), base_encoder.encode_images(images))
    np.testing.assert_array_equal(loaded.encode_texts(TEXTS), base_encoder.encode_texts(TEXTS))


def test_unfrozen_tower_params_are_saved_and_restored(tmp_path: Path) -> None:
    enc = TowerEncoder(device="cpu")
    block = enc.image_tower.blocks[6]
    block.requires_grad_(True)
    with torch.no_grad():
        enc.image_head.weight.mul_(-1)
        block[0].conv_pwl.weight.mul_(1.5)
        block[0].bn3.running_mean.add_(0.1)  # buffers of unfrozen modules travel too
    enc.save(tmp_path / "ft")
    assert "blocks.6.0.conv_pwl.weight" in TowerEncoder.load(tmp_path / "ft").config.finetuned["image_tower"]
    assert (tmp_path / "ft" / WEIGHTS_FILE).stat().st_size < 25e6

    loaded = TowerEncoder.load(tmp_path / "ft", device="cpu")
    assert loaded.version == enc.version != TowerEncoder(device="cpu").version
    images = shoe_like_images(2)
    np.testing.assert_array_equal(loaded.encode_images(images), enc.encode_images(images))
    assert loaded.image_tower.blocks[6][0].conv_pwl.weight.requires_grad


def test_load_rejects_foreign_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TowerEncoder.load(tmp_path)
    with pytest.raises(ValueError, match="family"):
        TowerConfig.from_dict({"family": "open_clip"})
