"""What a training run holds: the encoder with its unfrozen parts, cached trunks, optimiser.

Kept apart from the loop in `trainer.py` so the loop reads as the recipe. Frozen BatchNorm
and every frozen module stay in eval mode (their statistics must not drift unsaved); only
the unfrozen text layers switch to train mode, for their dropout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from encoder.checkpoint import TowerConfig
from encoder.dual import TowerEncoder
from encoder.training.config import TrainConfig
from encoder.training.features import cached_trunk, unfreeze_image_top
from encoder.training.text_cache import TextCache


def tower_config(config: TrainConfig) -> TowerConfig:
    base = TowerConfig()
    preprocessing = {**base.preprocessing, "image_size": config.image_size}
    if config.fold_diacritics:
        preprocessing["fold_diacritics"] = True
    return base.replace(name=config.name, dim=config.dim, preprocessing=preprocessing)


class TrainingModel:
    """The encoder being trained plus the run's cached image trunks and optimiser."""

    def __init__(self, config: TrainConfig, encoder: TowerEncoder) -> None:
        self.config, self.encoder = config, encoder
        lit = config.mode == "lit"
        n_blocks = 0 if lit else config.image_unfreeze_blocks
        self.image_top = unfreeze_image_top(encoder.image_tower, n_blocks)
        encoder.image_head.requires_grad_(not lit)
        layers = encoder.text_tower[0].auto_model.encoder.layer
        self.text_layers = list(layers)[len(layers) - config.text_unfreeze_layers :]
        for layer in self.text_layers:
            layer.requires_grad_(True)
        named = dict(encoder.named_trainable_parameters())
        towers = [p for k, p in named.items() if k.startswith(("image_tower.", "text_tower."))]
        heads = [p for k, p in named.items() if not k.startswith(("image_tower.", "text_tower."))]
        heads = [p for p in heads if p.requires_grad]
        groups = []
        for params, lr in ((heads, config.lr), (towers, config.tower_lr)):
            for exempt in (False, True):
                part = [p for p in params if (not config.decay_all and p.ndim < 2) == exempt]
                decay = 0.0 if exempt else config.weight_decay
                if part:
                    groups.append({"params": part, "lr": lr, "weight_decay": decay})
        self.optimizer = torch.optim.AdamW(groups)
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.train_acts = torch.empty(0)
        self.val_acts = torch.empty(0)
        self.text_cache: TextCache | None = None

    def text_embed(self, texts: list[str]) -> torch.Tensor:
        """Training captions through the cached lower layers; any other text through the tower."""
        cache = self.text_cache
        if cache is not None and all(t in cache for t in self.encoder.prepare_texts(texts)):
            return cache.features(texts)
        return self.encoder.text_features(texts)

    # -- forward ----------------------------------------------------------------------
    def image_embed(self, acts: torch.Tensor) -> torch.Tensor:
        return self.encoder.image_head(self.image_top(acts.to(self.encoder.device, torch.float32)))

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.config.amp and self.encoder.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()  # bf16 on these CPUs is slower than fp32

    def modules(self) -> Iterator[nn.Module]:
        yield from (self.encoder.image_tower, self.encoder.text_tower)
        yield from (self.encoder.image_head, self.encoder.text_head)

    def train(self) -> None:
        for module in self.modules():
            module.eval()
        for layer in self.text_layers:
            layer.train()

    def eval(self) -> None:
        for module in self.modules():
            module.eval()

    def step(self, lr_factor: float) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * lr_factor
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    # -- state ----------------------------------------------------------------------
    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {k: p.detach().clone() for k, p in self.encoder.named_trainable_parameters()}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        params = dict(self.encoder.named_trainable_parameters())
        with torch.no_grad():  # in place, not through .data: the encoder's `version` sees the write
            for key, value in state.items():
                params[key].copy_(value)

    def save_state(self, path: Path, state: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            **state,
            "params": self.trainable_state(),
            "optimizer": self.optimizer.state_dict(),
            "config": self.config.to_dict(),
        }
        tmp = path.with_suffix(".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)  # a run killed mid-write keeps the previous state

    def load_state(self, path: Path) -> dict[str, Any]:
        payload = torch.load(path, weights_only=False)
        # How long to run and on what hardware may change on resume; the recipe may not.
        free = ("max_steps", "device", "threads", "amp")
        recorded = TrainConfig.from_dict(payload.pop("config")).to_dict()  # fields added later: defaults
        saved = {k: v for k, v in recorded.items() if k not in free}
        if saved != {k: v for k, v in self.config.to_dict().items() if k not in free}:
            raise ValueError(f"{path} was written by a different recipe; start afresh or match it")
        self.load_trainable_state(payload.pop("params"))
        self.optimizer.load_state_dict(payload.pop("optimizer"))
        return payload


def build_model(config: TrainConfig, train_rows: list[dict], val_rows: list[dict]) -> TrainingModel:
    """Encoder, unfrozen parts and the cached trunk activations of both splits."""
    encoder = TowerEncoder(tower_config(config), device=config.device).ensure_loaded()
    assert isinstance(encoder, TowerEncoder)
    model = TrainingModel(config, encoder)
    n_blocks = model.image_top.n_blocks
    cache = Path(config.cache_dir)
    model.train_acts = cached_trunk(
        encoder,
        [r["image"] for r in train_rows],
        [r["sha256"] for r in train_rows],
        config.views,
        n_blocks,
        cache,
        config.seed,
        "train photos",
    )
    model.val_acts = cached_trunk(
        encoder, [r["image"] for r in val_rows], [r["sha256"] for r in val_rows], 1, n_blocks, cache, 0, "val"
    )
    texts = [c["text"] for r in train_rows for c in r["captions"]]
    model.text_cache = TextCache(encoder, config.text_unfreeze_layers, texts, cache)
    return model
