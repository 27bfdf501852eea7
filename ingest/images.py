"""Product photo validation, fingerprints and content-addressed storage.

Every photo, from a feed or an upload, passes `validate_image` before anything decodes it for
real: the size and format are sniffed from the bytes and the header (never the file name or a
server's Content-Type), so a decompression bomb or a disguised file is refused before it costs
memory. What survives is upright RGB: EXIF orientation applied, transparency flattened onto
white, CMYK, 16-bit, palette and greyscale-with-alpha converted; of an animated GIF, WebP or PNG
only the first frame is kept (a marketplace's animated photo opens on the product itself).

It is stored once per content hash as a normalised JPEG (longest side capped) plus a
thumbnail, and fingerprinted with a perceptual hash so that near-duplicates can be linked
(`ingest.photos`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ingest.records import is_url

# MPO is how Pillow names the multi-picture JPEGs many phone cameras write.
ALLOWED_FORMATS: frozenset[str] = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP"})
JPEG_QUALITY = 90
# Signatures of the accepted formats: bytes that start like one but that Pillow cannot
# identify are a damaged photo, not some other kind of file.
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF", b"BM": "BMP"}
_STORED = re.compile(r"(thumbs/)?[0-9a-f]{2}/[0-9a-f]{64}\.jpg")
# What a rejected non-image most likely is, so the reason says more than "unrecognised".
_TEXT_KINDS = (
    (re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<svg[\s>]", re.S | re.I), "an SVG drawing"),
    (re.compile(rb"^\s*(<!doctype html|<html|<head|<body)", re.I), "an HTML page"),
    (re.compile(rb"^\s*[{\[]"), "JSON"),
    (re.compile(rb"^\s*<\?xml", re.I), "an XML document"),
)
SIGNATURE_SIDE = 32  # near-duplicate check: photos compared at 32×32 RGB


class ImageRejected(Exception):
    """The bytes are not a usable product photo; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ValidatedImage:
    image: Image.Image  # RGB, upright, no transparency
    sha256: str  # of the original bytes: the same upload is stored once
    width: int
    height: int
    format: str  # as sniffed from the content, e.g. "JPEG"
    frames: int = 1  # > 1 for an animated GIF/WebP/PNG, of which `image` is the first frame
    # The original bytes already are what would be stored: an upright, single-frame RGB JPEG with
    # no metadata (re-encoding it would only cost time and a generation of JPEG loss).
    plain_jpeg: bool = False


def validate_image(data: bytes | Path | str, *, max_bytes: int, max_pixels: int) -> ValidatedImage:
    """Decode `data` safely into an upright RGB image, or raise ImageRejected with the reason."""
    raw = _read(data, max_bytes)
    if not raw:
        raise ImageRejected("empty file")
    if len(raw) > max_bytes:
        raise ImageRejected(f"too large: {len(raw)} bytes, limit {max_bytes}")
    # Our own pixel check runs on the header, before load(); Pillow's global bomb limit is
    # left alone (it is process-wide state) and only backs ours up.
    image = _open(raw, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from exc
    rgb = to_rgb(_upright(image))
    frames = int(getattr(image, "n_frames", 1))
    return ValidatedImage(
        image=rgb,
        sha256=hashlib.sha256(raw).hexdigest(),
        width=rgb.width,
        height=rgb.height,
        format=str(image.format),
        frames=frames,
        plain_jpeg=_plain_jpeg(image, raw, frames),
    )


def _read(data: bytes | Path | str, max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str) and is_url(data):
        # Downloading (timeouts, size cap, concurrency) is ingest.image_fetch's job.
        raise ImageRejected("remote image: download it first (ingest.image_fetch)")
    return read_photo_file(Path(data), max_bytes)


def read_photo_file(path: Path, max_bytes: int) -> bytes:
    """A local photo's bytes, or ImageRejected saying why not. Only a regular file is read (a folder,
    a FIFO or /dev/zero would block or never end), a too large one is refused before reading, and
    at most `max_bytes` + 1 bytes are read even from a file that grows meanwhile."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ImageRejected(f"not a file: {path}")
        if info.st_size > max_bytes:
            raise ImageRejected(f"too large: {info.st_size} bytes, limit {max_bytes}")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise ImageRejected(f"file not found: {path}") from exc
    except OSError as exc:
        raise ImageRejected(f"cannot read file: {exc.strerror or exc}") from exc
    if not data:
        raise ImageRejected("empty file")
    return data


def _open(raw: bytes, max_pixels: int) -> Image.Image:
    """Identify the format and size from the header only; nothing is decoded yet."""
    try:
        image = Image.open(io.BytesIO(raw))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The Warning is only raised where a process runs with warnings as errors.
        raise ImageRejected(f"too many pixels (decompression bomb?): {exc}") from exc
    except UnidentifiedImageError as exc:
        claimed = _claimed_format(raw)
        if claimed:
            raise ImageRejected(f"corrupt or truncated image: unreadable {claimed} header") from exc
        raise ImageRejected(f"not an image: {describe_content(raw)}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from exc
    if image.format not in ALLOWED_FORMATS:
        raise ImageRejected(f"unsupported image format: {image.format}")
    pixels = image.width * image.height
    if pixels > max_pixels:
        raise ImageRejected(f"too many pixels (decompression bomb?): {pixels}, limit {max_pixels}")
    if pixels == 0:
        raise ImageRejected("corrupt or truncated image: zero size")
    return image


def describe_content(raw: bytes) -> str:
    """A few words on what bytes that are not a photo look like ("an HTML page", "text")."""
    head = raw[:1024].removeprefix(b"\xef\xbb\xbf")
    for pattern, kind in _TEXT_KINDS:
        if pattern.match(head):
            return kind
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the 1 KiB mark is still text
            return "unrecognised binary content"
    return "plain text"


def _claimed_format(raw: bytes) -> str | None:
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in _MAGIC.items() if raw.startswith(magic)), None)


def _plain_jpeg(image: Image.Image, raw: bytes, frames: int) -> bool:
    """True when storing `raw` as it came equals re-encoding it: an upright single-frame RGB JPEG
    that carries nothing a re-encode drops (EXIF — a phone photo's GPS position —, an ICC
    profile, comments, bytes after the image)."""
    if (image.format, image.mode, frames) != ("JPEG", "RGB", 1) or _orientation(image) != 1:
        return False
    if any(key in image.info for key in ("exif", "icc_profile", "comment", "photoshop", "xmp")):
        return False
    return raw.endswith(b"\xff\xd9")


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return 0  # unreadable: not known to be upright


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        # A malformed EXIF block should not cost a good photo: keep it as stored.
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with transparency flattened onto white (product shots are on white)."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # convert("L") would clip 16-bit values at 255 (a white image); scale them instead.
        values = np.asarray(image, dtype=np.uint32)
        shift = 8 if values.max(initial=0) > 255 else 0
        image = Image.fromarray((values >> shift).astype(np.uint8), mode="L")
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ("PA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        canvas = Image.new("RGB", image.size, (255, 255, 255))
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB") if image.mode != "RGB" else image


def perceptual_hash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash as 16 hex digits: re-encoding or resizing a photo barely moves it."""
    return str(imagehash.phash(image))


def hash_distance(a: str, b: str) -> int:
    """Hamming distance between two perceptual hashes (0–64)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def signature(image: Image.Image) -> np.ndarray:
    """The photo at 32×32 RGB: pHash is colour-blind, so a near-duplicate is confirmed on this."""
    small = image.convert("RGB").resize((SIGNATURE_SIDE, SIGNATURE_SIDE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.int16)


def signature_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two signatures, on the 0–255 scale."""
    return float(np.abs(a - b).mean())


def normalised(image: Image.Image, max_side: int | None) -> Image.Image:
    """The copy ClipShoe keeps: the longest side capped at `max_side` (the encoder sees 224 px)."""
    if max_side is None or max(image.size) <= max_side:
        return image
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return copy


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def stored_path(sha256: str) -> str:
    """Relative path of a stored photo: two hex digits of fan-out keep folders small."""
    return f"{sha256[:2]}/{sha256}.jpg"


def thumbnail_path(rel: str) -> str:
    """Relative path of the thumbnail of the stored photo at `rel`."""
    return f"thumbs/{rel}"


def store_image(v: ValidatedImage, media_dir: Path, max_side: int | None = None) -> str:
    """Save `v` as a JPEG under media_dir by content hash; returns the relative path.

    Idempotent (an existing file is kept) and atomic (write to a temporary file, then
    rename), so two workers storing the same photo never leave a half-written file.
    """
    rel = stored_path(v.sha256)
    if not (media_dir / rel).exists():
        write_stored(media_dir, rel, jpeg_bytes(normalised(v.image, max_side)))
    return rel


def store_thumbnail(v: ValidatedImage, media_dir: Path, size: int) -> str:
    """Save a thumbnail of `v` (longest side `size`) beside the stored photos; returns its path."""
    rel = thumbnail_path(stored_path(v.sha256))
    if not (media_dir / rel).exists():
        write_stored(media_dir, rel, jpeg_bytes(normalised(v.image, size)))
    return rel


def write_stored(media_dir: Path, rel: str, data: bytes) -> None:
    """Write encoded bytes to media_dir/rel atomically (temporary file, then rename)."""
    target = media_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_stored(media_dir: Path, rel: str) -> Image.Image:
    """Open a stored photo as RGB. `rel` must be a path store_image returned (no traversal)."""
    if not _STORED.fullmatch(rel):
        raise ValueError(f"not a stored image path: {rel!r}")
    with Image.open(media_dir / rel) as image:
        return image.convert("RGB")
