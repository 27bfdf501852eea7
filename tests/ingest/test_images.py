from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ingest.images import ImageRejected, ValidatedImage, load_stored, store_image, validate_image
from tests.utils import images as factory

LIMITS = {"max_bytes": 1_000_000, "max_pixels": 4_000_000}


def _close(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (factory.jpeg_bytes((600, 600)) + b"\x00" * 1_000_000, "too large"),
        (factory.SVG_BYTES, "not an image: an SVG drawing"),
        (b'<?xml version="1.0"?>\n' + factory.SVG_BYTES, "not an image: an SVG drawing"),
        (factory.HTML_BYTES, "not an image: an HTML page"),
        (b'{"error": "rate limited"}', "not an image: JSON"),
        (b"just some text", "not an image: plain text"),
        (bytes(range(7, 250)) * 4, "not an image: unrecognised binary content"),
        (factory.tiff_bytes(), "unsupported image format: TIFF"),
        (factory.corrupt_jpeg(), "corrupt or truncated"),
        (factory.truncated_jpeg(), "corrupt or truncated"),
        (factory.truncated_png(), "corrupt or truncated"),
        (factory.png_bomb(), "too many pixels"),  # past Pillow's own limit: refused at open
        (factory.png_bomb(3000, 3000), "too many pixels"),  # past ours, checked on the header
    ],
    ids=["empty", "too-large", "svg", "svg-xml", "html", "json", "text", "binary", "tiff", "corrupt",
         "trunc-jpeg", "trunc-png", "bomb-huge", "bomb"],
)  # fmt: skip
def test_hostile_bytes_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        validate_image(data, **LIMITS)
    assert reason in caught.value.reason


def test_paths_and_urls(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected, match="remote image: download it first"):
        validate_image("https://cf.shopee.vn/file/a.jpg", **LIMITS)
    with pytest.raises(ImageRejected, match="file not found"):
        validate_image(tmp_path / "missing.jpg", **LIMITS)
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * 2_000_000)
    with pytest.raises(ImageRejected, match="too large"):
        validate_image(big, **LIMITS)
    good = tmp_path / "shoe.png"  # the extension lies; the content decides
    good.write_bytes(factory.jpeg_bytes())
    assert validate_image(good, **LIMITS).format == "JPEG"


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (factory.jpeg_bytes(), "JPEG"), (factory.png_bytes(), "PNG"), (factory.image_bytes("WEBP"), "WEBP"),
        (factory.image_bytes("BMP"), "BMP"), (factory.palette_gif(), "GIF"), (factory.cmyk_jpeg(), "JPEG"),
    ],
)  # fmt: skip
def test_accepted_formats_become_rgb(data: bytes, fmt: str) -> None:
    result = validate_image(data, **LIMITS)
    assert (result.format, result.image.mode) == (fmt, "RGB")
    assert _close(result.image.getpixel((5, 5)), factory.RED)  # GIF: the first frame
    assert len(result.sha256) == 64


def test_16bit_png_is_scaled_not_clipped() -> None:
    result = validate_image(factory.png_16bit(level=40_000), **LIMITS)
    assert _close(result.image.getpixel((0, 0)), (156, 156, 156), tolerance=2)


def test_rgba_is_flattened_on_white() -> None:
    result = validate_image(factory.rgba_png((40, 40)), **LIMITS)
    assert result.image.mode == "RGB"
    assert result.image.getpixel((1, 1)) == (255, 255, 255)
    assert result.image.getpixel((20, 20)) == factory.RED


def test_exif_orientation_is_applied() -> None:
    result = validate_image(factory.exif_rotated_jpeg((80, 40), orientation=6), **LIMITS)
    assert (result.width, result.height) == (40, 80)  # upright: portrait
    assert _close(result.image.getpixel((20, 10)), factory.RED)  # the stored left half is on top
    assert _close(result.image.getpixel((20, 70)), (255, 255, 255))


def test_store_image_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    validated = validate_image(factory.rgba_png(), **LIMITS)
    rel = store_image(validated, tmp_path)
    assert rel == f"{validated.sha256[:2]}/{validated.sha256}.jpg"
    stored = tmp_path / rel
    first_mtime = stored.stat().st_mtime_ns
    assert store_image(validated, tmp_path) == rel
    assert stored.stat().st_mtime_ns == first_mtime
    assert list(stored.parent.iterdir()) == [stored]  # no temporary file left behind
    with Image.open(stored) as image:
        assert image.format == "JPEG"
    loaded = load_stored(tmp_path, rel)
    assert loaded.mode == "RGB" and loaded.size == (40, 40)
    assert _close(loaded.getpixel((20, 20)), factory.RED)


def test_load_stored_refuses_other_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a stored image path"):
        load_stored(tmp_path, "../../etc/passwd")


def test_sample_catalogue_photos_validate(tmp_path: Path) -> None:
    from ingest.sample import generate_sample_catalog

    csv_path = generate_sample_catalog(tmp_path, n=8)
    photos = sorted((csv_path.parent / "images").iterdir())
    results: list[ValidatedImage] = [validate_image(p, **LIMITS) for p in photos]
    assert len(results) == 8
    assert all((r.width, r.height, r.format) == (60, 80, "JPEG") for r in results)
    assert len({r.sha256 for r in results}) == 8


def test_animated_gif_keeps_its_first_frame() -> None:
    result = validate_image(factory.palette_gif(frames=2), **LIMITS)
    assert result.frames == 2
    assert _close(result.image.getpixel((5, 5)), factory.RED)  # frame 2 is blue


def test_perceptual_hash_survives_reencoding_and_resizing() -> None:
    from ingest.images import hash_distance, perceptual_hash
    from ingest.silhouettes import draw_shoe

    shoe = draw_shoe("boot", (120, 72, 40), size=(300, 400))
    smaller = validate_image(_jpeg(shoe.resize((150, 200)), quality=50), **LIMITS).image
    other = draw_shoe("heel", (120, 72, 40), size=(300, 400))
    assert hash_distance(perceptual_hash(shoe), perceptual_hash(smaller)) <= 2
    assert hash_distance(perceptual_hash(shoe), perceptual_hash(other)) > 10


def test_store_image_caps_the_longest_side_and_stores_a_thumbnail(tmp_path: Path) -> None:
    from ingest.images import store_thumbnail, thumbnail_path

    validated = validate_image(factory.jpeg_bytes((900, 300)), **LIMITS)
    rel = store_image(validated, tmp_path, max_side=300)
    thumb = store_thumbnail(validated, tmp_path, size=60)
    assert thumb == thumbnail_path(rel) == f"thumbs/{rel}"
    assert load_stored(tmp_path, rel).size == (300, 100)
    assert load_stored(tmp_path, thumb).size == (60, 20)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
