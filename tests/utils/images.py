"""Tiny image factories for tests: good photos in every accepted format, and hostile bytes.

Everything is generated in memory; no test depends on a checked-in or downloaded file.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

RED = (220, 20, 20)


def image_bytes(
    fmt: str = "JPEG", size: tuple[int, int] = (60, 80), colour: tuple[int, ...] = RED, mode: str = "RGB"
) -> bytes:
    """A plain image of one colour, encoded as `fmt`."""
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (60, 80), colour: tuple[int, int, int] = RED) -> bytes:
    return image_bytes("JPEG", size, colour)


def png_bytes(size: tuple[int, int] = (60, 80), colour: tuple[int, int, int] = RED) -> bytes:
    return image_bytes("PNG", size, colour)


def corrupt_jpeg() -> bytes:
    """A JPEG start-of-image marker followed by noise: sniffs as JPEG, cannot decode."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


def truncated_jpeg() -> bytes:
    data = jpeg_bytes((200, 200))
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    """A real PNG cut in the middle of its pixel data."""
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes whose header claims width×height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * 1024)  # far fewer rows than claimed; never decoded
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def cmyk_jpeg(size: tuple[int, int] = (60, 80)) -> bytes:
    return image_bytes("JPEG", size, (0, 255, 255, 0), mode="CMYK")  # red in CMYK


def png_16bit(size: tuple[int, int] = (60, 80), level: int = 40_000) -> bytes:
    """16-bit greyscale PNG at `level`/65535 — mid grey, which naive conversion clips to white."""
    return image_bytes("PNG", size, (level,), mode="I;16")


def rgba_png(size: tuple[int, int] = (40, 40)) -> bytes:
    """Fully transparent, with an opaque red square in the middle."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    w, h = size
    image.paste((*RED, 255), (w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def exif_rotated_jpeg(size: tuple[int, int] = (80, 40), orientation: int = 6) -> bytes:
    """Stored landscape (left half red, right half white) with an EXIF orientation tag.

    Orientation 6 means "rotate 90° clockwise to display": the upright image is portrait,
    red on top.
    """
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def palette_gif(size: tuple[int, int] = (30, 30), frames: int = 2) -> bytes:
    """An animated GIF; the first frame is red."""
    images = [Image.new("RGB", size, c).convert("P") for c in [RED, (20, 20, 220)][:frames]]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def tiff_bytes() -> bytes:
    """A valid image in a format ClipShoe does not accept."""
    return image_bytes("TIFF")


SVG_BYTES = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="9"/></svg>'
HTML_BYTES = b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"
