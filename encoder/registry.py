"""Model names → encoders. The zoo is data; ``create_encoder`` is the one constructor.

Valid names:
* ``base``                       packaged towers with the fixed seeded heads (no training)
* ``default``                    the shipped fine-tuned checkpoint ``encoder/checkpoints/default/``
                                 (falls back to ``base`` with a warning until it exists)
* ``hf:<hub id or folder>``      a transformers CLIP/SigLIP model
* ``open_clip:<arch>:<tag|file>`` an open_clip model (needs ``open_clip_torch``)
* ``<path>``                     a folder written by ``TowerEncoder.save``
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from encoder.base import Encoder

log = logging.getLogger(__name__)

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "default"


@dataclass(frozen=True)
class ZooEntry:
    """A named model: what it is, and how to build it on a device."""

    description: str
    build: Callable[[str], Encoder]


def _build_base(device: str) -> Encoder:
    from encoder.dual import TowerEncoder

    return TowerEncoder(device=device)


def _build_default(device: str) -> Encoder:
    from encoder.checkpoint import is_checkpoint

    if is_checkpoint(DEFAULT_CHECKPOINT):
        return _build_checkpoint(str(DEFAULT_CHECKPOINT), device)
    # Until the fine-tuned checkpoint ships, search still works (text→text, image→image).
    log.warning("no checkpoint at %s yet; 'default' falls back to 'base'", DEFAULT_CHECKPOINT)
    return _build_base(device)


def _build_checkpoint(folder: str, device: str) -> Encoder:
    from encoder.dual import TowerEncoder

    return TowerEncoder.load(folder, device=device)


def _build_hf(model_id: str, device: str) -> Encoder:
    from encoder.hf_clip import HFClipEncoder

    return HFClipEncoder(model_id, device=device)


def _build_open_clip(spec: str, device: str) -> Encoder:
    from encoder.open_clip_encoder import OpenClipEncoder

    return OpenClipEncoder.from_spec(spec, device=device)


MODEL_ZOO: dict[str, ZooEntry] = {
    "base": ZooEntry(
        "EfficientNet-Lite0 + MiniLM-L6 towers, seeded orthogonal heads, untrained", _build_base
    ),
    "default": ZooEntry(
        "the shipped fine-tuned TowerEncoder checkpoint (base until trained)", _build_default
    ),
}

# prefix → builder taking the rest of the name
PREFIXES: dict[str, Callable[[str, str], Encoder]] = {
    "hf:": _build_hf,
    "open_clip:": _build_open_clip,
}

VALID_FORMS = (
    "'base', 'default', 'hf:<hub id or local folder>', 'open_clip:<arch>:<pretrained tag or file>', "
    "or the path of a folder saved by TowerEncoder.save"
)


def create_encoder(name: str, device: str = "auto") -> Encoder:
    """Build the encoder called ``name`` (weights load lazily, on first use)."""
    from encoder.checkpoint import is_checkpoint

    if name in MODEL_ZOO:
        return MODEL_ZOO[name].build(device)
    for prefix, build in PREFIXES.items():
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if not rest:
                raise ValueError(f"{name!r}: nothing after {prefix!r}; valid names: {VALID_FORMS}")
            return build(rest, device)
    if is_checkpoint(name):
        return _build_checkpoint(name, device)
    raise ValueError(f"unknown encoder {name!r}; valid names: {VALID_FORMS}")


@lru_cache(maxsize=8)
def get_encoder(name: str, device: str = "auto") -> Encoder:
    """Process-wide shared encoder per (name, device): models are loaded once."""
    return create_encoder(name, device)
