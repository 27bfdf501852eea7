"""Image preprocessing shared by the encoders.

Catalogue photos are small (60×80) portrait shots on white. Centre-cropping them to a
square (what CLIP processors do) cuts off toes and heels, so every encoder first pads to
a square on white and only then resizes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torchvision.transforms import v2

WHITE = (255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, compositing any transparency onto white (PNG cut-outs are common for shoes)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, WHITE)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def pad_to_square(image: Image.Image, fill: tuple[int, int, int] = WHITE) -> Image.Image:
    """Centre the image on a white square canvas; no pixel of the product is lost."""
    image = to_rgb(image)
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def tower_transform(
    train: bool, size: int = 224, mean: float = 0.5, std: float = 0.5
) -> Callable[[Image.Image], torch.Tensor]:
    """PIL → normalised (3, size, size) float tensor for the EfficientNet-Lite0 tower.

    ``train=True`` adds light augmentation. Hue and saturation are left alone on purpose:
    colour is something users search by ("red sneakers"), so it must stay a stable signal.
    """
    bicubic = v2.InterpolationMode.BICUBIC
    if train:
        geometry: list[Callable] = [
            v2.RandomResizedCrop(size, scale=(0.8, 1.0), interpolation=bicubic, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.1, contrast=0.1),
        ]
    else:
        geometry = [v2.Resize((size, size), interpolation=bicubic, antialias=True)]
    return v2.Compose(
        [
            pad_to_square,
            v2.PILToTensor(),
            *geometry,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([mean] * 3, [std] * 3),
        ]
    )
