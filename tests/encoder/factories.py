"""Tiny, randomly initialised models and synthetic inputs for fast CPU tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

TINY_CLIP_DIM = 16


def _bytes_to_unicode() -> list[str]:
    """CLIP's byte→printable-character table (every byte needs one vocab entry)."""
    ranges = (("!", "~"), ("¡", "¬"), ("®", "ÿ"))
    printable = [code for low, high in ranges for code in range(ord(low), ord(high) + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def write_tiny_clip_tokenizer_files(folder: Path) -> None:
    """A byte-level BPE vocab with no merges (every byte a token) + CLIP's special tokens.

    Built by hand because ``CLIPTokenizer(vocab_file=..., merges_file=...)`` in
    transformers 5 silently builds a 2-token vocabulary (facts.md); loading the same
    files with ``from_pretrained`` works.
    """
    symbols = _bytes_to_unicode()
    tokens = symbols + [f"{s}</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n")


def save_tiny_clip(folder: Path) -> Path:
    """Save a tiny random CLIPModel + tokenizer + image processor as an ``hf:`` folder."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    write_tiny_clip_tokenizer_files(folder)
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    config = CLIPConfig(
        text_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=32,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=30,
            patch_size=6,
        ),
        projection_dim=TINY_CLIP_DIM,
    )
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30}, do_center_crop=True
    )
    model.save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def shoe_like_images(count: int, size: tuple[int, int] = (60, 80), seed: int = 0) -> list[Image.Image]:
    """Portrait photos on white with a coloured blob, like the catalogue's 60×80 shots."""
    rng = np.random.default_rng(seed)
    images = []
    width, height = size
    for _ in range(count):
        pixels = np.full((height, width, 3), 255, dtype=np.uint8)
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        pixels[top : top + height // 2, left : left + width // 2] = rng.integers(0, 256, size=3)
        pixels += rng.integers(0, 8, size=pixels.shape, dtype=np.uint8) * (pixels < 248)
        images.append(Image.fromarray(pixels))
    return images
