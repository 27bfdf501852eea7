"""Split the image tower at the first unfrozen block and cache what comes before it.

On two CPU cores the frozen stem and early blocks are most of the image tower's cost, and
their output for a given view of a photo never changes. So each photo's views (one plain,
the rest augmented with seeded randomness) go through the frozen trunk once, the activations
are stored (fp16) under ``var/``, and every epoch runs only the unfrozen top.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from tqdm import tqdm

from encoder.dual import TowerEncoder

log = logging.getLogger(__name__)
CACHE_BATCH = 64


def flat_blocks(tower: nn.Module) -> list[nn.Module]:
    """EfficientNet's blocks in order, across stages (Lite0: 16)."""
    return [block for stage in tower.blocks for block in stage]


class ImageTop(nn.Module):
    """The unfrozen end of the image tower: last N blocks, conv_head, bn2, pooling.

    Holds references to the tower's own modules, so training it trains the tower.
    With N = 0 nothing is left: the cached activations are already the pooled features.
    """

    def __init__(self, tower: nn.Module, n_blocks: int) -> None:
        super().__init__()
        self.n_blocks = n_blocks
        blocks = flat_blocks(tower)
        self.blocks = nn.Sequential(*blocks[len(blocks) - n_blocks :]) if n_blocks else nn.Sequential()
        self.tail = nn.Sequential(tower.conv_head, tower.bn2, tower.global_pool) if n_blocks else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tail is None:
            return x
        return self.tail(self.blocks(x))


def unfreeze_image_top(tower: nn.Module, n_blocks: int) -> ImageTop:
    top = ImageTop(tower, n_blocks)
    top.requires_grad_(n_blocks > 0)
    return top


def add_drop_path(tower: nn.Module, n_blocks: int, rate: float) -> list[nn.Module]:
    """Stochastic depth on the last ``n_blocks`` residual blocks; returns the modules added.

    timm's rule: block i of N drops its residual branch with probability rate × i / N. The
    modules hold no parameters, so checkpoints are unchanged; in eval mode they are identities.
    """
    from timm.layers import DropPath

    if rate <= 0:
        return []
    blocks = flat_blocks(tower)
    added: list[nn.Module] = []
    for i, block in enumerate(blocks):
        if i >= len(blocks) - n_blocks and getattr(block, "has_skip", False):
            block.drop_path = DropPath(rate * i / len(blocks))
            added.append(block.drop_path)
    return added


@torch.inference_mode()
def trunk_features(tower: nn.Module, pixels: torch.Tensor, n_blocks: int) -> torch.Tensor:
    """Activations just before the first unfrozen block (pooled features when none is)."""
    if n_blocks == 0:
        return tower(pixels)
    x = tower.bn1(tower.conv_stem(pixels))
    blocks = flat_blocks(tower)
    for block in blocks[: len(blocks) - n_blocks]:
        x = block(x)
    return x


def cache_key(shas: Sequence[str], image_size: int, n_blocks: int, views: int, seed: int) -> str:
    digest = hashlib.blake2b(digest_size=10)
    digest.update(f"v1:{image_size}:{n_blocks}:{views}:{seed}".encode())
    for sha in shas:
        digest.update(sha.encode())
    return digest.hexdigest()


def _view(image: Image.Image, plain, augment, seed: int, view: int) -> torch.Tensor:
    if view == 0:
        return plain(image)
    # One seed per (photo, view): the cache is the same whatever order photos come in.
    torch.manual_seed(seed)
    return augment(image)


def cached_trunk(
    encoder: TowerEncoder,
    paths: Sequence[str],
    shas: Sequence[str],
    views: int,
    n_blocks: int,
    cache_dir: Path,
    seed: int = 0,
    label: str = "photos",
) -> torch.Tensor:
    """(len(paths), views, …) fp16 trunk activations, computed once and kept under ``cache_dir``."""
    size = encoder.config.preprocessing["image_size"]
    path = Path(cache_dir) / f"trunk_{cache_key(shas, size, n_blocks, views, seed)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    plain, augment = encoder.image_transform(train=False), encoder.image_transform(train=True)
    # The tower's layout is the caller's (`setup.build_model`: channels_last); the pixels follow it.
    tower = encoder.image_tower.eval()
    state = torch.get_rng_state()  # augmentation seeds must not disturb the caller's stream
    chunks = []
    jobs = [(i, v) for i in range(len(paths)) for v in range(views)]
    for start in tqdm(range(0, len(jobs), CACHE_BATCH), desc=f"caching {label}", unit="batch"):
        batch = []
        for i, v in jobs[start : start + CACHE_BATCH]:
            with Image.open(paths[i]) as image:
                image.load()
                photo_seed = int(shas[i][:12], 16) + 1_000_003 * seed
                batch.append(_view(image, plain, augment, photo_seed + v, v))
        pixels = torch.stack(batch).to(encoder.device).contiguous(memory_format=torch.channels_last)
        chunks.append(trunk_features(tower, pixels, n_blocks).to("cpu", torch.float16).contiguous())
    torch.set_rng_state(state)
    acts = torch.cat(chunks)
    acts = acts.reshape(len(paths), views, *acts.shape[1:])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(acts, path)
    log.info("cached %s trunk activations %s at %s", label, tuple(acts.shape), path)
    return acts
