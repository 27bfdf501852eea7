"""Simple shoe silhouettes for generated sample photos: one outline per kind of shoe.

Drawn at 4× on a 240×320 canvas and downscaled, so edges are smooth at Myntra's 60×80.
The shapes differ by category on purpose: an image model fed the sample catalogue should be
able to tell a heel from a flip-flop, so end-to-end demos and tests rank sensibly.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

CANVAS = (240, 320)
OUTLINE = (60, 60, 60)
SOLE = (245, 245, 245)
Colour = tuple[int, int, int]
Points = list[tuple[int, int]]


def _sneaker(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    upper: Points = [(30, 200), (40, 150), (90, 140), (130, 110), (175, 105), (205, 130), (215, 200)]
    draw.polygon(upper, fill=fill, outline=OUTLINE, width=3)
    draw.rounded_rectangle((22, 195, 222, 220), radius=10, fill=SOLE, outline=OUTLINE, width=3)
    for x in range(110, 170, 15):  # laces
        draw.line((x, 128, x + 12, 145), fill=OUTLINE, width=3)


def _formal(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    upper: Points = [(15, 205), (30, 175), (100, 160), (140, 140), (190, 140), (215, 160), (220, 205)]
    draw.polygon(upper, fill=fill, outline=OUTLINE, width=3)
    draw.rectangle((15, 203, 222, 212), fill=OUTLINE)
    draw.rectangle((185, 203, 220, 222), fill=OUTLINE)  # heel block


def _boot(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    shaft: Points = [(30, 210), (40, 170), (110, 155), (130, 60), (205, 60), (212, 210)]
    draw.polygon(shaft, fill=fill, outline=OUTLINE, width=3)
    draw.rectangle((25, 205, 218, 225), fill=OUTLINE)


def _heel(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    body: Points = [(20, 215), (40, 190), (90, 180), (150, 140), (200, 110), (215, 120), (200, 150)]
    body += [(130, 200), (70, 215)]
    draw.polygon(body, fill=fill, outline=OUTLINE, width=3)
    draw.polygon([(195, 140), (212, 125), (206, 230), (198, 230)], fill=fill, outline=OUTLINE, width=3)


def _flat(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    draw.chord((20, 150, 220, 250), 180, 360, fill=fill, outline=OUTLINE, width=3)
    draw.rectangle((20, 198, 220, 208), fill=OUTLINE)
    draw.ellipse((40, 185, 60, 198), fill=OUTLINE)  # bow on the toe


def _sandal(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    draw.rounded_rectangle((20, 200, 222, 222), radius=8, fill=OUTLINE)
    for left in (45, 105, 165):  # straps
        draw.arc((left, 140, left + 50, 260), 180, 360, fill=fill, width=14)


def _flip_flop(draw: ImageDraw.ImageDraw, fill: Colour) -> None:
    # Seen from above: flip-flops are photographed sole-up on marketplaces.
    draw.ellipse((70, 40, 170, 290), fill=fill, outline=OUTLINE, width=3)
    draw.line((120, 90, 85, 170), fill=OUTLINE, width=9)
    draw.line((120, 90, 155, 170), fill=OUTLINE, width=9)


SHAPES = {
    "sneaker": _sneaker,
    "formal": _formal,
    "boot": _boot,
    "heel": _heel,
    "flat": _flat,
    "sandal": _sandal,
    "flip_flop": _flip_flop,
}


def draw_shoe(shape: str, fill: Colour, size: tuple[int, int] = (60, 80), variant: int = 0) -> Image.Image:
    """A white-background product photo of a `shape` shoe filled with `fill`, at `size`.

    `variant` shifts the shoe by a few pixels, as real product shots differ, so two products
    of the same kind and colour do not get byte-identical photos.
    """
    drawn = Image.new("RGB", CANVAS, (255, 255, 255))
    SHAPES[shape](ImageDraw.Draw(drawn), fill)
    image = Image.new("RGB", CANVAS, (255, 255, 255))
    image.paste(drawn, ((variant % 5 - 2) * 4, (variant // 5 % 5 - 2) * 4))
    return image.resize(size, Image.Resampling.LANCZOS)
