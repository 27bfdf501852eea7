"""``open_clip:<arch>:<pretrained tag or weights file>`` via the open_clip library.

open_clip_torch is an optional extra: it is not installed on the project's machines.
``pip install open_clip_torch`` into this venv adds only open_clip_torch and ftfy and keeps
torch 2.14.1 (checked with ``pip install --dry-run``); in a venv with another torch, pin
torch on the same command line, because a plain install silently replaces it (facts.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from encoder.base import Encoder, content_hash, slug
from encoder.preprocess import pad_to_square

PREFIX = "open_clip:"
INSTALL_HINT = (
    "open_clip encoders need the optional package open_clip_torch: "
    "`pip install open_clip_torch` then check `pip list | grep torch` still shows torch 2.14.1; "
    "or use an hf: model (e.g. hf:laion/CLIP-ViT-B-32-laion2B-s34B-b79K) which needs only transformers"
)


class OpenClipEncoder(Encoder):
    """An open_clip architecture with pretrained weights (a tag such as ``laion2b_s34b_b79k`` or a file)."""

    def __init__(self, arch: str, pretrained: str, device: str = "auto") -> None:
        super().__init__(device)
        self.arch, self.pretrained = arch, pretrained
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self._version: str | None = None

    @classmethod
    def from_spec(cls, spec: str, device: str = "auto") -> OpenClipEncoder:
        """Parse ``<arch>:<pretrained>`` (what follows ``open_clip:``); the file part may hold ':'."""
        arch, sep, pretrained = spec.partition(":")
        if not (arch and sep and pretrained):
            raise ValueError(f"expected open_clip:<arch>:<pretrained tag or file>, got {spec!r}")
        return cls(arch, pretrained, device)

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.arch}:{self.pretrained}"

    @property
    def dim(self) -> int:
        self.ensure_loaded()
        return int(self._model.visual.output_dim)

    @property
    def version(self) -> str:
        if self._version is None:
            self.ensure_loaded()
            ident = json.dumps({"arch": self.arch}, sort_keys=True)
            digest = content_hash(self._model.state_dict(), ident)
            self._version = f"{slug(f'open_clip_{self.arch}')}_{digest}"
        return self._version

    def _load(self) -> None:
        try:
            import open_clip
        except ImportError as error:
            raise ImportError(INSTALL_HINT) from error
        model, _, preprocess = open_clip.create_model_and_transforms(
            self.arch, pretrained=self.pretrained, device=self.device
        )
        self._model, self._preprocess = model.eval(), preprocess
        self._tokenizer = open_clip.get_tokenizer(self.arch)

    def _inference_modules(self) -> Sequence[torch.nn.Module]:
        return [self._model] if self._model is not None else []

    def _embed_image_batch(self, images: Sequence[Image.Image]) -> torch.Tensor:
        # pad first: open_clip's eval transform centre-crops, cutting portrait shots
        pixels = torch.stack([self._preprocess(pad_to_square(image)) for image in images])
        return self._model.encode_image(pixels.to(self.device))

    def _embed_text_batch(self, texts: Sequence[str]) -> torch.Tensor:
        return self._model.encode_text(self._tokenizer(list(texts)).to(self.device))
