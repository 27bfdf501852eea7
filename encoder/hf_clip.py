"""``hf:<hub id or local folder>``: any transformers dual encoder (CLIP, SigLIP, FashionCLIP…).

Loaded through AutoModel/AutoProcessor and their ``get_image_features`` /
``get_text_features``, so every model with that pair of methods works unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from encoder.base import Encoder, content_hash, slug
from encoder.preprocess import pad_to_square

PREFIX = "hf:"


def _offline(model_id: str) -> bool:
    """No network when the hub is switched off or the weights are a local folder."""
    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return flag in ("1", "true", "yes", "on") or Path(model_id).is_dir()


def _as_tensor(output: Any) -> torch.Tensor:
    # transformers 4.x returned the projected tensor; 5.x returns a ModelOutput whose
    # pooler_output holds it. Accept both so one code path serves either version.
    if isinstance(output, torch.Tensor):
        return output
    pooled = getattr(output, "pooler_output", None)
    if isinstance(pooled, torch.Tensor):
        return pooled
    return output[0]


class HFClipEncoder(Encoder):
    """A transformers image–text model addressed as ``hf:<id or folder>``."""

    def __init__(self, model_id: str, device: str = "auto") -> None:
        super().__init__(device)
        self.model_id = model_id
        self._model: Any = None
        self._processor: Any = None
        self._version: str | None = None

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.model_id}"

    @property
    def dim(self) -> int:
        self.ensure_loaded()
        config = self._model.config
        projection = getattr(config, "projection_dim", None)
        # SigLIP has no projection_dim: both towers end at the text hidden size
        return int(projection or config.text_config.hidden_size)

    @property
    def version(self) -> str:
        if self._version is None:
            self.ensure_loaded()
            # Hash the weights themselves (once): the same id on the hub can change, and a
            # local folder's path says nothing about what is in it.
            config = json.dumps(self._model.config.to_dict(), sort_keys=True, default=str)
            digest = content_hash(self._model.state_dict(), config)
            self._version = f"{slug(self._name_stem())}_{digest}"
        return self._version

    def _name_stem(self) -> str:
        path = Path(self.model_id)
        stem = path.name if path.is_dir() else self.model_id
        return f"hf_{stem}"

    def _load(self) -> None:
        from transformers import AutoModel, AutoProcessor

        local_only = _offline(self.model_id)
        self._model = AutoModel.from_pretrained(self.model_id, local_files_only=local_only)
        self._model.to(self.device).eval()
        self._processor = AutoProcessor.from_pretrained(self.model_id, local_files_only=local_only)

    def _inference_modules(self) -> Sequence[torch.nn.Module]:
        return [self._model] if self._model is not None else []

    def _to_device(self, batch: Any) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in batch.items() if isinstance(v, torch.Tensor)}

    def _embed_image_batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        # Pad before the processor's centre crop, which would cut toes/heels off portrait shots.
        batch = self._processor(images=[pad_to_square(i) for i in images], return_tensors="pt")
        pixels = batch["pixel_values"].to(self.device, dtype=self._model.dtype)
        return _as_tensor(self._model.get_image_features(pixel_values=pixels))

    def _embed_text_batch(self, texts: Sequence[str]) -> torch.Tensor:
        # SigLIP was trained on texts padded to max_length; CLIP pools at the EOS token
        # and is indifferent, so pad per model type.
        is_siglip = "siglip" in getattr(self._model.config, "model_type", "")
        padding: str | bool = "max_length" if is_siglip else True
        batch = self._processor(text=list(texts), padding=padding, truncation=True, return_tensors="pt")
        return _as_tensor(self._model.get_text_features(**self._to_device(batch)))
