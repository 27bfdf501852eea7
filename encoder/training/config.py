"""`TrainConfig`: the whole training recipe as one object, loadable from JSON or YAML.

A recipe file sets what differs from the defaults; ``key=value`` overrides (the CLI's
``--set``) come last. Values in overrides are parsed as JSON where possible ("3", "true",
"1e-4"), and then coerced to the field's declared type, so ``--set epochs=3`` is an int.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

Mode = Literal["unlocked", "lit"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters and run settings; every field is also a ``--set`` key."""

    name: str = "default"  # the encoder's registry-facing name in the saved config
    seed: int = 0
    # locked-image (LiT): the image tower and head stay as in `base`; unlocked: fine-tune both sides
    mode: Mode = "unlocked"
    image_size: int = 128  # the photos are 60×80: 224 costs ~2× the time for no extra detail
    views: int = 3  # cached views per training photo: one plain + (views - 1) augmented
    image_unfreeze_blocks: int = 5  # last N of EfficientNet-Lite0's 16 blocks (+ conv_head)
    text_unfreeze_layers: int = 2  # last N of MiniLM's 6 transformer layers
    fold_diacritics: bool = True  # fold Vietnamese before tokenising (query time too)
    dim: int = 256
    epochs: int = 12
    batch_size: int = 256
    accumulate: int = 1  # micro-batches per optimiser step
    lr: float = 1e-3  # heads and logit_scale
    tower_lr: float = 1e-4  # unfrozen tower parts
    weight_decay: float = 0.05
    # False: no decay on logit_scale, biases and norm gains (CLIP's and open_clip's practice; decay
    # pulls the log-temperature towards 0). True keeps the rule older checkpoints were trained with.
    decay_all: bool = True
    warmup_steps: int = 20
    title_weight: float = 2.0  # sampling weight of a product's title captions vs the others
    # Sampling weight of a product's description caption (its opening words, prompts.py); 0: never
    # drawn, and left out of the run altogether (the rule older checkpoints were trained with).
    description_weight: float = 0.0
    multi_positive: bool = True  # attribute captions count every matching product as positive
    # A caption also counts every in-batch product that has the same caption text (case-folded) as
    # a positive: a third of the training products share their title with another ("catwalk women
    # black heels" × 34), and plain InfoNCE pushes those apart. False: the rule older checkpoints
    # were trained with.
    same_text_positive: bool = False
    # Share of each batch filled with products sorted by type, colour and gender, so their
    # in-batch negatives differ only in brand and detail (batches.py); 0: plain shuffled batches.
    hard_batch_share: float = 0.0
    # Starting exp(logit_scale); 0: CLIP's 1/0.07 ≈ 14.3. The scale is learned, but slowly (≈ 14 → 17
    # over a 16-epoch run here), and a higher one weights the hardest in-batch negatives more.
    init_scale: float = 0.0
    # Regularisers of the unfrozen image top, training only (nothing of them is saved): stochastic
    # depth on its residual blocks (timm's rule, the rate grows with depth to this value at the
    # last block) and dropout on the pooled features before the head. The top otherwise sees only
    # `views` fixed activations per photo and memorises them (v5: train title mrr@10 0.59, val 0.32).
    image_drop_path: float = 0.0
    image_dropout: float = 0.0
    image_loss_weight: float = 0.0  # photo↔photo loss (same type + colour attract); 0: off
    # Auxiliary brand classifier on the photo embedding (training only; not in the checkpoint).
    # Titles name the brand, and ranking by brand is what title → photo lacks beyond type,
    # colour and gender (bench/eval/ceilings.py). Brands with fewer than `brand_min_products`
    # training products are not classified. 0: off.
    brand_loss_weight: float = 0.0
    brand_min_products: int = 5
    patience: int = 3  # epochs without a better val mrr@10 before stopping
    # The final retrain, once a recipe is chosen on val: train on train + val, with nothing held
    # out, so no validation and no early stopping; the last of `epochs` is the model. Test stays
    # unseen. False: train on train only and keep the best val epoch.
    fit_val: bool = False
    max_steps: int = 0  # stop after this many optimiser steps (0: no limit; for smoke tests)
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU (no speed-up there)
    threads: int = 0  # torch threads (0: torch's default)
    cache_dir: str = "var/cache/training"
    run_dir: str = ""  # resumable state; "" → var/runs/<name>
    save_dtype: str = "float16"  # of the shipped checkpoint ("float32" to keep full precision)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; known: {sorted(cls.field_types())}")
        return cls(**{key: _coerce(cls.field_types()[key], value, key) for key, value in data.items()})

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        return get_type_hints(cls)

    def with_overrides(self, overrides: list[str]) -> TrainConfig:
        """Apply ``key=value`` strings in order."""
        changes: dict[str, Any] = {}
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ValueError(f"override {item!r} is not key=value")
            changes[key.strip()] = _parse(raw.strip())
        return TrainConfig.from_dict({**self.to_dict(), **changes})


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # a bare word: a string value


def _coerce(kind: Any, value: Any, key: str) -> Any:
    choices = get_args(kind) if getattr(kind, "__origin__", None) is Literal else ()
    if choices:
        if value not in choices:
            raise ValueError(f"{key} must be one of {choices}, got {value!r}")
        return value
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        return value
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key} must be {kind.__name__}, got {value!r}") from exc


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Defaults, then the recipe file (``.json``, ``.yaml``/``.yml``), then overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        if Path(path).suffix.lower() in (".yaml", ".yml"):
            import yaml  # only recipe files need it

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a recipe is a mapping of settings")
    return TrainConfig.from_dict(data).with_overrides(overrides or [])
