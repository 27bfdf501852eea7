"""Photo downloads (ingest/image_fetch.py) and the photo store (ingest/photos.py) against a local
HTTP server, with the real photos table in Postgres as the registry."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from PIL import Image

from ingest.image_fetch import FetchLimits, fetch_image
from ingest.images import ImageRejected
from ingest.photos import PhotoStore
from ingest.silhouettes import draw_shoe
from tests.ingest.photo_server import PhotoServer, photo_server
from tests.utils import images as factory

# The photo server is local: allow_private lets the downloads reach it (tests/ingest/test_fetch_guard.py).
FAST = FetchLimits(
    max_bytes=1_000_000, connect_timeout=2, read_timeout=0.5, deadline=1.5, concurrency=4, allow_private=True
)


@pytest.fixture(scope="module")
def server() -> Iterator[PhotoServer]:
    with photo_server() as s:
        yield s


def _store(tmp_path: Path, **kw: object) -> PhotoStore:
    options: dict = {"limits": FAST, "max_pixels": 4_000_000, "max_side": 512, "thumbnail_size": 64} | kw
    return PhotoStore(tmp_path / "media", **options)


def _photo(colour: tuple[int, int, int] = (40, 90, 200), variant: int = 3, size=(240, 320)) -> Image.Image:
    """A drawn shoe on white, at photo size (the sample catalogue's own silhouettes)."""
    return draw_shoe("sneaker", colour, size=size, variant=variant)


def _jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*.jpg") if "thumbs" not in p.parts)


def test_a_photo_is_judged_by_its_bytes_not_its_content_type(server: PhotoServer) -> None:
    url = server.serve("/png-as-text", factory.png_bytes(), content_type="text/plain")
    fetched = fetch_image(url, FAST)
    assert fetched.data.startswith(b"\x89PNG") and fetched.content_type == "text/plain"
    assert fetch_image(server.redirect("/moved", url), FAST).data == fetched.data


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda s: s.serve("/gone.jpg", b"not here", status=404), "HTTP 404"),
        (lambda s: s.serve("/oops.jpg", b"", status=500), "HTTP 500"),
        (lambda s: s.stall("/stall.jpg", 2.0), "timed out reading"),
        (lambda s: s.trickle("/trickle.jpg", pause=0.2, chunks=30), "too slow"),
        (lambda s: s.stream("/huge-announced.jpg", 50_000_000, announce=True), "server announced 50000000"),
        (lambda s: s.stream("/huge-chunked.jpg", 50_000_000), "too large: more than 1000000 bytes"),
        (lambda s: s.redirect("/loop.jpg", "/loop.jpg"), "more than 5 redirects"),
        (lambda s: "http://127.0.0.1:9/closed-port.jpg", "cannot connect"),
        (lambda s: "ftp://example.com/shoe.jpg", "not an http(s) URL"),
    ],
    ids=["404", "500", "stall", "trickle", "announced-too-big", "streamed-too-big", "redirect-loop",
         "refused", "ftp"],
)  # fmt: skip
def test_failed_downloads_say_why(server: PhotoServer, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    url = make(server)
    with pytest.raises(ImageRejected) as caught:
        fetch_image(url, FAST)
    assert reason in caught.value.reason


def test_an_oversized_stream_is_abandoned_not_buffered(server: PhotoServer) -> None:
    url = server.stream("/endless.jpg", 50_000_000)
    with pytest.raises(ImageRejected, match="download abandoned"):
        fetch_image(url, FAST)
    # The client hung up soon after the cap: the server never got to send the 50 MB.
    assert server.sent["/endless.jpg"] < 10_000_000


def test_a_compressed_transfer_is_refused(server: PhotoServer) -> None:
    def gzip(h: BaseHTTPRequestHandler) -> None:
        body = b"\x1f\x8b" + b"\x00" * 20
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with pytest.raises(ImageRejected, match="gzip-encoded"):
        fetch_image(server.route("/bomb.jpg", gzip), FAST)


class Gate:
    """Routes whose requests each wait at a barrier until `parties` are in flight together: fewer
    at once would time them out (HTTP 500). `peak` is the most ever in flight."""

    def __init__(self, server: PhotoServer, parties: int) -> None:
        self.server, self.barrier = server, threading.Barrier(parties, timeout=10)
        self.lock, self.now, self.peak = threading.Lock(), 0, 0

    def photo(self, path: str, body: bytes) -> str:
        def handler(h: BaseHTTPRequestHandler) -> None:
            with self.lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            try:
                self.barrier.wait()
                status = 200
            except threading.BrokenBarrierError:
                status = 500
            with self.lock:
                self.now -= 1
            h.send_response(status)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        return self.server.route(path, handler)


def _distinct(i: int) -> bytes:
    return _jpeg(_photo((20 * i, 200 - 15 * i, 90), variant=i))


def test_downloads_run_concurrently_up_to_the_cap(server: PhotoServer, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gate = Gate(server, FAST.concurrency)
    urls = [gate.photo(f"/gated/{i}.jpg", _distinct(i)) for i in range(12)]
    results = _store(tmp_path).store_many(registry, urls)
    assert all(not isinstance(r, ImageRejected) for r in results), results
    assert gate.peak == FAST.concurrency
    assert len({r.sha256 for r in results}) == 12  # type: ignore[union-attr]


def test_exact_duplicates_are_stored_once_and_a_known_url_is_not_fetched_again(
    server: PhotoServer, registry, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = _jpeg(_photo())
    first = server.serve("/dup/a.jpg", data)
    second = server.serve("/dup/b.jpg", data)
    local = tmp_path / "same.jpg"
    local.write_bytes(data)
    store = _store(tmp_path)
    a, b, c = store.store_many(registry, [first, second, str(local)])
    assert (a.link, b.link, c.link) == ("new", "exact", "exact")  # type: ignore[union-attr]
    assert a.path == b.path == c.path and a.sha256 == b.sha256 == c.sha256  # type: ignore[union-attr]
    assert len(_stored_files(store.media_dir)) == 1
    again = store.store(registry, first)
    assert again.link == "exact" and server.hits["/dup/a.jpg"] == 1


def test_near_duplicates_reuse_the_stored_copy_but_colourways_do_not(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = _photo((40, 90, 200))
    reencoded = original.resize((216, 288), Image.Resampling.LANCZOS)  # another seller's smaller, worse copy
    red = _photo((200, 30, 40))  # same shot, another colour: pHash alone cannot tell
    paths = []
    for name, image, quality in [("a", original, 92), ("b", reencoded, 55), ("c", red, 92)]:
        paths.append(tmp_path / f"{name}.jpg")
        paths[-1].write_bytes(_jpeg(image, quality))
    store = _store(tmp_path)
    a, b, c = store.store_many(registry, [str(p) for p in paths])
    assert (a.link, b.link, c.link) == ("new", "near", "new")  # type: ignore[union-attr]
    assert b.path == a.path and b.sha256 != a.sha256  # type: ignore[union-attr]
    assert b.record.duplicate_of == a.sha256 and b.record.distance <= 4  # type: ignore[union-attr]
    assert c.path != a.path  # type: ignore[union-attr]
    assert len(_stored_files(store.media_dir)) == 2
    row = registry.by_sha256(b.sha256)  # type: ignore[union-attr]
    assert (row.duplicate_of, row.path) == (a.sha256, a.path)  # type: ignore[union-attr]
    # With near-duplicate linking off, the re-encoded copy is stored on its own.
    (tmp_path / "d.jpg").write_bytes(_jpeg(reencoded, 40))
    alone = _store(tmp_path, near_distance=-1).store(registry, str(tmp_path / "d.jpg"))
    assert alone.link == "new" and alone.path != a.path  # type: ignore[union-attr]


def test_a_near_twin_whose_files_are_gone_is_not_linked_to(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The store remembers the signatures of stored photos; one whose files were removed since
    (a media volume restored from an older backup) must not be reused, remembered or not."""
    original = _photo((40, 90, 200))
    copies = [original.resize((216, 288), Image.Resampling.LANCZOS), original.resize((240, 320))]
    paths = []
    for name, image, quality in [("a", original, 92), ("b", copies[0], 55), ("c", copies[1], 50)]:
        paths.append(tmp_path / f"{name}.jpg")
        paths[-1].write_bytes(_jpeg(image, quality))
    store = _store(tmp_path)
    a, b = store.store_many(registry, [str(p) for p in paths[:2]])
    assert (a.link, b.link) == ("new", "near")  # type: ignore[union-attr]
    for f in store.media_dir.rglob("*.jpg"):  # the copy and its thumbnail
        f.unlink()
    c = store.store(registry, str(paths[2]))
    assert c.link == "new" and c.record.duplicate_of is None and c.path != a.path  # type: ignore[union-attr]
    assert (store.media_dir / c.path).is_file() and (store.media_dir / c.thumbnail).is_file()


def test_stored_copy_is_normalised_with_a_thumbnail(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "big-cmyk.jpg"
    _photo(size=(1200, 900)).convert("CMYK").save(source, format="JPEG")
    stored = _store(tmp_path).store(registry, str(source))
    with Image.open(tmp_path / "media" / stored.path) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (512, 384))
    with Image.open(tmp_path / "media" / stored.thumbnail) as thumb:
        assert (thumb.mode, max(thumb.size)) == ("RGB", 64)
    assert len(stored.record.phash) == 16 and (stored.record.width, stored.record.height) == (1200, 900)


def test_a_small_upright_rgb_jpeg_is_stored_as_it_came(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Re-encoding a photo that is already what ClipShoe stores only costs time and JPEG quality."""
    plain, rotated = tmp_path / "plain.jpg", tmp_path / "rotated.jpg"
    plain.write_bytes(_jpeg(_photo(size=(60, 80))))
    exif = Image.Exif()
    exif[0x0112] = 6  # shot sideways: must be turned upright, so re-encoded
    _photo(size=(80, 60)).save(rotated, format="JPEG", exif=exif)
    store = _store(tmp_path, thumbnail_size=128)
    kept, turned = (store.store(registry, str(p)) for p in (plain, rotated))
    assert (store.media_dir / kept.path).read_bytes() == plain.read_bytes()
    assert (store.media_dir / kept.thumbnail).read_bytes() == plain.read_bytes()  # within the thumbnail size
    assert (store.media_dir / turned.path).read_bytes() != rotated.read_bytes()
    with Image.open(store.media_dir / turned.path) as image:
        assert image.size == (60, 80)
    # Metadata is never kept: a phone photo's EXIF (its GPS position) goes with the re-encode.
    tagged = tmp_path / "tagged.jpg"
    gps = Image.Exif()
    gps[0x0112] = 1  # upright
    gps[0x010F] = "PhoneMaker"
    _photo(colour=(200, 40, 40), size=(60, 80)).save(tagged, format="JPEG", exif=gps)
    stripped = store.store(registry, str(tagged))
    with Image.open(store.media_dir / stripped.path) as image:
        assert "exif" not in image.info


def test_a_photo_of_a_rolled_back_attempt_is_not_its_own_near_duplicate(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The store's in-memory index keeps a photo whose transaction then rolled back (a dropped
    connection, say); storing it again must store it, not link it to itself."""
    from catalog.db import session_factory
    from catalog.repository import SqlImageRegistry

    source = tmp_path / "shoe.jpg"
    source.write_bytes(_jpeg(_photo(colour=(10, 160, 90), variant=5)))
    store = _store(tmp_path)
    sessions = session_factory()
    with sessions() as s:
        s.begin()
        first = store.store(SqlImageRegistry(s), str(source))
        s.rollback()
    with sessions() as s:
        s.begin()
        again = store.store(SqlImageRegistry(s), str(source))
        s.rollback()
    assert first.link == again.link == "new"
    assert again.record.duplicate_of is None and again.path == first.path


def test_a_photo_whose_stored_copy_was_lost_is_stored_again(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    source = tmp_path / "shoe.jpg"
    source.write_bytes(_jpeg(_photo()))
    store = _store(tmp_path)
    first = store.store(registry, str(source))
    shutil.rmtree(store.media_dir)  # e.g. a media volume restored from an older backup
    again = _store(tmp_path).store(registry, str(source))
    assert again.link == "new" and again.path == first.path
    assert (store.media_dir / again.path).is_file() and (store.media_dir / again.thumbnail).is_file()
