"""What a training run holds: the encoder with its unfrozen parts, cached trunks, optimiser.

Kept apart from the loop in `trainer.py` so the loop reads as the recipe. Frozen BatchNorm
and every frozen module stay in eval mode (their statistics must not drift unsaved); only
the unfrozen text layers (for their dropout) and the image top's optional regularisers
(stochastic depth, dropout before the head) switch to train mode.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from encoder.checkpoint import TowerConfig
from encoder.dual import TowerEncoder
from encoder.training.config import TrainConfig
from encoder.training.features import add_drop_path, cached_trunk, unfreeze_image_top
from encoder.training.text_cache import TextCache


def tower_config(config: TrainConfig) -> TowerConfig:
    base = TowerConfig()
    preprocessing = {**base.preprocessing, "image_size": config.image_size}
    if config.fold_diacritics:
        preprocessing["fold_diacritics"] = True
    return base.replace(name=config.name, dim=config.dim, preprocessing=preprocessing)


class TrainingModel:
    """The encoder being trained plus the run's cached image trunks and optimiser."""

    def __init__(self, config: TrainConfig, encoder: TowerEncoder, brands: list[str] | None = None) -> None:
        self.config, self.encoder = config, encoder
        # Training-only brand classifier (config.brand_loss_weight): a linear layer over the unit
        # photo embedding; its class list is the run's brands, fixed before the optimiser exists.
        self.brand_index = {brand: i for i, brand in enumerate(brands or [])}
        self.brand_head = nn.Linear(config.dim, len(self.brand_index)).to(encoder.device) if brands else None
        lit = config.mode == "lit"
        n_blocks = 0 if lit else config.image_unfreeze_blocks
        self.image_top = unfreeze_image_top(encoder.image_tower, n_blocks)
        # Training-only regularisers (config.image_drop_path, image_dropout): in train mode only.
        self.regularisers = add_drop_path(encoder.image_tower, n_blocks, config.image_drop_path)
        self.image_dropout = nn.Dropout(config.image_dropout)
        self.regularisers.append(self.image_dropout)
        encoder.image_head.requires_grad_(not lit)
        layers = encoder.text_tower[0].auto_model.encoder.layer
        self.text_layers = list(layers)[len(layers) - config.text_unfreeze_layers :]
        for layer in self.text_layers:
            layer.requires_grad_(True)
        named = dict(encoder.named_trainable_parameters())
        towers = [p for k, p in named.items() if k.startswith(("image_tower.", "text_tower."))]
        heads = [p for k, p in named.items() if not k.startswith(("image_tower.", "text_tower."))]
        heads = [p for p in heads if p.requires_grad]
        if self.brand_head is not None:
            heads += list(self.brand_head.parameters())
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
        pooled = self.image_top(acts.to(self.encoder.device, torch.float32))
        return self.encoder.image_head(self.image_dropout(pooled))

    def brand_loss(self, image: torch.Tensor, rows: list[dict]) -> torch.Tensor | None:
        """The auxiliary brand term; None when it is off or no row's brand is classified."""
        if self.brand_head is None:
            return None
        labels = [self.brand_index.get(row.get("brand") or "", -1) for row in rows]  # -1: too rare
        if max(labels) < 0:
            return None  # cross-entropy over only ignored labels is NaN
        logits = self.brand_head(nn.functional.normalize(image, dim=-1))
        return nn.functional.cross_entropy(logits, torch.tensor(labels, device=image.device), ignore_index=-1)

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
        for module in [*self.text_layers, *self.regularisers]:
            module.train()

    def eval(self) -> None:
        for module in [*self.modules(), *self.regularisers]:
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
        if self.brand_head is not None:
            payload["brand_head"] = self.brand_head.state_dict()
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
        if self.brand_head is not None:
            self.brand_head.load_state_dict(payload.pop("brand_head"))
        self.optimizer.load_state_dict(payload.pop("optimizer"))
        return payload


def classified_brands(config: TrainConfig, train_rows: list[dict]) -> list[str]:
    """Brands the auxiliary classifier learns: none when its loss is off."""
    if not config.brand_loss_weight:
        return []
    counts = Counter(row.get("brand") for row in train_rows if row.get("brand"))
    return sorted(brand for brand, n in counts.items() if n >= config.brand_min_products)


def build_model(config: TrainConfig, train_rows: list[dict], val_rows: list[dict]) -> TrainingModel:
    """Encoder, unfrozen parts and the cached trunk activations of both splits."""
    if config.init_scale < 0:
        raise ValueError(f"init_scale must be positive (0: CLIP's 1/0.07), got {config.init_scale}")
    encoder = TowerEncoder(tower_config(config), device=config.device).ensure_loaded()
    assert isinstance(encoder, TowerEncoder)
    if config.init_scale:
        with torch.no_grad():
            encoder.logit_scale.fill_(math.log(config.init_scale))
    model = TrainingModel(config, encoder, classified_brands(config, train_rows))
    # channels_last: ≈1.4× faster depthwise convolutions on CPU (measured). Set once here, for the
    # trunk cache and the unfrozen blocks alike, so a run that loads the cache trains in the same
    # layout as one that computes it: float sums differ between layouts, and so would the weights.
    encoder.image_tower.to(memory_format=torch.channels_last)
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
    if val_rows:
        model.val_acts = cached_trunk(
            encoder,
            [r["image"] for r in val_rows],
            [r["sha256"] for r in val_rows],
            1,
            n_blocks,
            cache,
            0,
            "val",
        )
    texts = [c["text"] for r in train_rows for c in r["captions"]]
    model.text_cache = TextCache(encoder, config.text_unfreeze_layers, texts, cache)
    return model
