"""``TowerEncoder``: the two packaged towers joined by CLIP-style projection heads.

image → EfficientNet-Lite0 (1280) → ``image_head`` → D
text  → all-MiniLM-L6-v2 (384)    → ``text_head``  → D          (D = 256 by default)

Untrained (``base``), the heads are seeded (seed 0) semi-orthogonal projections. An
orthogonal projection keeps the angles between tower features, so text→text and
image→image neighbours are those of the towers themselves; but the two towers were never
trained together, so text→image search is NOT meaningful until the heads are trained
contrastively (that is what ``logit_scale`` and the ``*_features`` methods are for).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torch import nn

from encoder.base import Encoder, content_hash, slug
from encoder.checkpoint import TowerConfig, read_checkpoint, write_checkpoint
from encoder.preprocess import tower_transform
from encoder.towers import load_image_tower, load_text_tower
from ingest.normalise import fold_diacritics

if TYPE_CHECKING:  # importing sentence-transformers costs seconds; only the loader needs it
    from sentence_transformers import SentenceTransformer

INIT_SEED = 0
INIT_LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature


def _semi_orthogonal(in_features: int, out_features: int, generator: torch.Generator) -> nn.Linear:
    head = nn.Linear(in_features, out_features, bias=False)
    nn.init.orthogonal_(head.weight, generator=generator)
    return head


class TowerEncoder(Encoder):
    """Packaged towers + trainable heads; lazily loads the towers on first use."""

    def __init__(self, config: TowerConfig | None = None, device: str = "auto") -> None:
        super().__init__(device)
        self.config = config or TowerConfig()
        # One generator, fixed order (image then text): the documented `base` initialisation.
        generator = torch.Generator().manual_seed(INIT_SEED)
        self.image_head = _semi_orthogonal(self.config.image_feature_dim, self.config.dim, generator)
        self.text_head = _semi_orthogonal(self.config.text_feature_dim, self.config.dim, generator)
        self.logit_scale = nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))
        self.image_head.to(self.device)
        self.text_head.to(self.device)
        self.logit_scale.data = self.logit_scale.data.to(self.device)
        self._image_tower: nn.Module | None = None
        self._text_tower: SentenceTransformer | None = None
        # Fine-tuned tower weights read from a checkpoint wait here until the towers load.
        self._pending_tower_state: dict[str, torch.Tensor] = {}
        self._version_cache: tuple[tuple[object, ...], str, list[torch.Tensor]] | None = None

    # -- identity ---------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def version(self) -> str:
        state = self.trainable_state_dict()
        # Hashing the weights costs ~30 ms and ingest asks for the version on every batch: reuse the
        # hash while every tensor is the same storage, not written since. Torch bumps `_version`
        # (shared by detached views) on every in-place write, so an optimizer step, `copy_` or
        # load_state_dict gives a new version; writes through `.data` bypass it, so this class
        # never writes weights that way. The cache holds the tensors themselves: a storage it
        # compared cannot be freed and its address reused by another.
        identity = self.config.identity_json()
        tensors = sorted(state.items())
        stamp = (identity, *((k, t.data_ptr(), t.dtype, t.shape, t._version) for k, t in tensors))
        cached = self._version_cache
        if cached is None or cached[0] != stamp:
            digest = content_hash(state, identity)
            self._version_cache = cached = (stamp, f"{slug(self.name)}_{digest}", [t for _, t in tensors])
        return cached[1]

    # -- modules (a trainer fine-tunes these) ------------------------------------------
    @property
    def image_tower(self) -> nn.Module:
        self.ensure_loaded()
        assert self._image_tower is not None
        return self._image_tower

    @property
    def text_tower(self) -> SentenceTransformer:
        self.ensure_loaded()
        assert self._text_tower is not None
        return self._text_tower

    def _load(self) -> None:
        image_tower = load_image_tower(self.device).eval()
        text_tower = load_text_tower(self.device).eval()
        # Towers come frozen; a trainer unfreezes what it wants with requires_grad_.
        image_tower.requires_grad_(False)
        text_tower.requires_grad_(False)
        towers: dict[str, nn.Module] = {"image_tower": image_tower, "text_tower": text_tower}
        for key, value in self._pending_tower_state.items():
            tower, _, member = key.partition(".")
            target = towers[tower].state_dict(keep_vars=True)[member]
            with torch.no_grad():  # in place, not through .data: `version` sees the write
                target.copy_(value.to(target.device))
            if isinstance(target, nn.Parameter):
                target.requires_grad_(True)  # it was fine-tuned: keep it trainable on resume
        self._pending_tower_state = {}
        self._image_tower, self._text_tower = image_tower, text_tower

    def _inference_modules(self) -> Sequence[nn.Module]:
        modules: list[nn.Module] = [self.image_head, self.text_head]
        if self._image_tower is not None and self._text_tower is not None:
            modules += [self._image_tower, self._text_tower]
        return modules

    # -- training-facing features (unnormalised, with grad) -----------------------------
    def image_transform(self, train: bool = False) -> Callable[[Image.Image], torch.Tensor]:
        """PIL → pixel tensor, as the image tower expects; ``train`` adds light augmentation."""
        prep = self.config.preprocessing
        return tower_transform(train, size=prep["image_size"], mean=prep["mean"], std=prep["std"])

    def image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) pixels → (n, dim) projected, unnormalised features."""
        return self.image_head(self.image_tower(pixels.to(self.device)))

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts → (n, dim) projected, unnormalised features."""
        tower = self.text_tower
        batch = tower.preprocess(self.prepare_texts(texts))
        batch = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        return self.text_head(tower(batch)["sentence_embedding"])

    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        """Texts as the text tower sees them: diacritics folded when the checkpoint says so.

        MiniLM's vocabulary is English: folding makes "giày thể thao" and "giay the thao"
        the same token sequence, which a trained checkpoint has learned to place.
        """
        if self.config.preprocessing.get("fold_diacritics", False):
            return [fold_diacritics(text) for text in texts]
        return list(texts)

    def _embed_image_batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        transform = self.image_transform(train=False)
        return self.image_features(torch.stack([transform(image) for image in images]))

    def _embed_text_batch(self, texts: Sequence[str]) -> torch.Tensor:
        return self.text_features(texts)

    # -- what a checkpoint stores ----------------------------------------------------------
    def named_trainable_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """Heads, logit_scale and any tower parameter a trainer has unfrozen."""
        yield "logit_scale", self.logit_scale
        for prefix, module in (("image_head", self.image_head), ("text_head", self.text_head)):
            for key, param in module.named_parameters():
                yield f"{prefix}.{key}", param
        for prefix, tower in (("image_tower", self._image_tower), ("text_tower", self._text_tower)):
            if tower is not None:
                for key, param in tower.named_parameters():
                    if param.requires_grad:
                        yield f"{prefix}.{key}", param

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Everything that differs from the PyPI towers: heads, logit_scale, unfrozen tower parts.

        For an unfrozen tower module its buffers come along too (BatchNorm running stats
        move during fine-tuning and the frozen package copy would no longer match).
        """
        state = {"logit_scale": self.logit_scale.detach()}
        state.update({f"image_head.{k}": v.detach() for k, v in self.image_head.state_dict().items()})
        state.update({f"text_head.{k}": v.detach() for k, v in self.text_head.state_dict().items()})
        state.update(self._pending_tower_state)
        for prefix, tower in (("image_tower", self._image_tower), ("text_tower", self._text_tower)):
            if tower is None:
                continue
            for module_name, module in tower.named_modules():
                if any(p.requires_grad for p in module.parameters(recurse=False)):
                    dot = f"{module_name}." if module_name else ""
                    for key, value in module.state_dict(keep_vars=False).items():
                        if "." not in key:  # direct members only; children are visited themselves
                            state[f"{prefix}.{dot}{key}"] = value.detach()
        return state

    def save(
        self, folder: str | Path, training: dict | None = None, dtype: torch.dtype | None = None
    ) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (trainable weights only).

        ``dtype`` (e.g. ``torch.float16``) casts floating tensors to halve the file; ``load``
        brings them back to float32.
        """
        state = self.trainable_state_dict()
        if dtype is not None:
            state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
        finetuned = {
            tower: sorted(k.split(".", 1)[1] for k in state if k.startswith(f"{tower}."))
            for tower in ("image_tower", "text_tower")
        }
        config = self.config.replace(finetuned=finetuned, training=training or self.config.training)
        return write_checkpoint(folder, config, state)

    @classmethod
    def load(cls, folder: str | Path, device: str = "auto") -> TowerEncoder:
        """Inverse of ``save``: the towers still load lazily, fine-tuned parts on top."""
        config, state = read_checkpoint(folder)
        # float32 in memory whatever the file holds, so `version` is the same before and
        # after the towers load (the hash covers dtypes)
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        encoder = cls(config, device)
        with torch.no_grad():
            encoder.logit_scale.copy_(state.pop("logit_scale"))
        for prefix, head in (("image_head", encoder.image_head), ("text_head", encoder.text_head)):
            head_state = {k.split(".", 1)[1]: state.pop(k) for k in list(state) if k.startswith(f"{prefix}.")}
            head.load_state_dict(head_state, strict=True)
        unknown = [k for k in state if not k.startswith(("image_tower.", "text_tower."))]
        if unknown:
            raise ValueError(f"{folder}: unexpected tensors in checkpoint: {unknown[:5]}")
        encoder._pending_tower_state = state
        return encoder
