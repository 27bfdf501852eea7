"""Hostile inputs through a real ingest job (API → Redis → Celery worker → Postgres + index).

A catalogue is ingested first (the keepers). Then one feed carries ~40 bad items — broken rows,
poisoned photo files, and URLs to a local server that misbehaves in every way — plus a few
awkward but valid photos. Every bad item must end as exactly one recorded error that says why,
each awkward photo must be stored right, and no keeper may lose its row, photo or vector,
even when a bad item carries a keeper's id.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from ingest.silhouettes import draw_shoe
from tests.ingest.photo_server import PhotoServer, photo_server
from tests.integration import ingest
from tests.utils import images as factory

SOURCE = "hostile"
# id → (colour name in the feed, the colour drawn)
KEEPERS = {
    "keep-1": ("red", (200, 30, 40)),
    "keep-2": ("green", (40, 140, 60)),
    "keep-3": ("blue", (40, 90, 200)),
    "keep-4": ("yellow", (240, 210, 40)),
}


def _jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _keeper_photo(colour: tuple[int, int, int]) -> Image.Image:
    return draw_shoe("boot", colour, size=(240, 320), variant=7)


@dataclass(frozen=True)
class Case:
    id: str
    line: dict[str, Any] | bytes  # the JSONL line: an object, or raw bytes
    reason: str  # what the recorded error must say
    stage: str = "image"


@pytest.fixture(scope="module")
def server() -> Iterator[PhotoServer]:
    with photo_server() as s:
        yield s


@pytest.fixture(scope="module")
def short_timeouts() -> Iterator[None]:
    """The worker runs in this process: tighten its download limits so the stall case is quick."""
    from clipshoe.runtime import get_runtime

    cfg = get_runtime().settings.ingest
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cfg, "image_read_timeout", 1.0)
        mp.setattr(cfg, "image_fetch_deadline", 3.0)
        yield


@pytest.fixture(scope="module")
def keepers(client: TestClient, server: PhotoServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Four products ingested from a CSV feed, three local photos and one remote, before any hostility."""
    folder = tmp_path_factory.mktemp("keepers")
    rows = ["id,title,brand,price,category,colour,image,source"]
    for n, (key, (name, colour)) in enumerate(KEEPERS.items(), start=1):
        data = _jpeg(_keeper_photo(colour))
        if key == "keep-4":
            image = server.serve("/keep-4.jpg", data)
        else:
            (folder / f"{key}.jpg").write_bytes(data)
            image = f"{key}.jpg"
        rows.append(f"{key},Keeper boot {n},Bata,{1000 * n},boots,{name},{image},{SOURCE}")
    feed = folder / "keepers.csv"
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    job = ingest(client, feed)
    assert (job["status"], job["failed"], job["total"]) == ("completed", 0, 4), job
    return {"folder": folder, "before": _snapshot()}


def _snapshot() -> dict[str, dict[str, Any]]:
    """Each keeper's row, stored photo and index vector, as the catalogue holds them now."""
    from catalog.db import session_scope
    from catalog.models import Product
    from clipshoe.runtime import get_runtime

    rt = get_runtime()
    media = rt.settings.media_dir
    with session_scope() as s:
        rows = s.scalars(select(Product).where(Product.source == SOURCE, Product.source_id.in_(KEEPERS)))
        state = {
            p.source_id: {
                k: getattr(p, k) for k in ("title", "price", "image_path", "image_sha256", "point_id")
            }
            | {"embedded": p.embedded_model is not None}
            for p in rows
        }
    collection = rt.index.resolve_alias(rt.alias)
    assert collection is not None
    points = rt.index.retrieve(collection, [v["point_id"] for v in state.values()], with_vectors=True)
    vectors = {pt.id: pt.vectors for pt in points}
    for v in state.values():
        v["photo_on_disk"] = (media / v["image_path"]).is_file()
        v["image_vector"] = list(vectors.get(v["point_id"], {}).get("image", []))
    return state


def _huge_jpeg(side: int) -> bytes:
    """A small JPEG whose frame header claims side×side pixels."""
    data = factory.jpeg_bytes((60, 80))
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + side.to_bytes(2, "big") * 2 + data[sof + 9 :]


def _gzip(h: BaseHTTPRequestHandler) -> None:
    body = b"\x1f\x8b\x08\x00" + b"\x00" * 16
    h.send_response(200)
    h.send_header("Content-Type", "image/jpeg")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _hostile_cases(folder: Path, server: PhotoServer) -> list[Case]:
    def local(name: str, data: bytes) -> str:
        (folder / name).write_bytes(data)
        return str(folder / name)

    sparse = folder / "fifty-megabytes.jpg"
    with sparse.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # a 50 MB file (sparse on disk: the size is what counts)
    (folder / "a-directory.jpg").mkdir()
    title = {"title": "Hostile shoe", "source": SOURCE}
    feed = [
        Case("broken-json", b'{"source_id": "bad-json", "title": "cut off', "invalid JSON", "feed"),
        Case("json-array", b'["not", "an", "object"]', "expected a JSON object, got list", "feed"),
        Case(
            "missing-title",
            {"source_id": "bad-notitle", "source": SOURCE, "price": 5},
            "missing field 'title'",
            "feed",
        ),
        Case(
            "blank-title",
            {"source_id": "bad-blank", "source": SOURCE, "title": "   "},
            "missing field 'title'",
            "feed",
        ),
        Case("missing-id", {"title": "No id at all", "source": SOURCE}, "missing field 'source_id'", "feed"),
        Case(
            "negative-price", {"source_id": "keep-1", **title, "price": -100}, "bad price: negative", "feed"
        ),
        Case(
            "nan-price", {"source_id": "bad-nan", **title, "price": "NaN"}, "bad price: not a price", "feed"
        ),
        Case(
            "price-range",
            {"source_id": "bad-range", **title, "price": "100-200"},
            "bad price: a price range",
            "feed",
        ),
        Case(
            "wrong-currency",
            {"source_id": "bad-cur", **title, "price": "₹ 2,499"},
            "is in INR, expected VND",
            "feed",
        ),
        Case("non-utf8", b'{"source_id": "bad-utf8", "title": "Gi\xe0y l\xf4i"}', "not valid UTF-8", "feed"),
        Case("brand-object", {"source_id": "bad-brand", **title, "brand": {}}, "bad value: brand", "feed"),
        Case(
            "attributes-list",
            {"source_id": "bad-attrs", **title, "attributes": [1, 2]},
            "bad value: attributes",
            "feed",
        ),
        Case(
            "relative-url",
            {"source_id": "bad-url", **title, "url": "/p/1"},
            "url: must be an http(s) URL",
            "feed",
        ),
        Case(
            "ftp-image", {"source_id": "bad-ftp", **title, "image": "ftp://x/y.jpg"}, "image: must be", "feed"
        ),
    ]
    files = [
        Case(
            "truncated-jpeg",
            {"image": local("truncated.jpg", factory.truncated_jpeg())},
            "corrupt or truncated",
        ),
        Case("corrupt-jpeg", {"image": local("corrupt.jpg", factory.corrupt_jpeg())}, "corrupt or truncated"),
        Case(
            "truncated-png",
            {"image": local("truncated.png", factory.truncated_png())},
            "corrupt or truncated",
        ),
        Case("png-bomb", {"image": local("bomb.png", factory.png_bomb())}, "too many pixels"),
        Case("huge-dimensions", {"image": local("huge.jpg", _huge_jpeg(8000))}, "64000000, limit 40000000"),
        Case("svg-file", {"image": local("drawing.jpg", factory.SVG_BYTES)}, "not an image: an SVG drawing"),
        Case("html-file", {"image": local("page.png", factory.HTML_BYTES)}, "not an image: an HTML page"),
        Case(
            "text-renamed",
            {"image": local("notes.jpg", b"size 42, black, leather\n")},
            "not an image: plain text",
        ),
        Case("zero-bytes", {"image": local("empty.jpg", b"")}, "empty file"),
        Case("fifty-megabytes", {"image": str(sparse)}, "too large: 52428800 bytes"),
        Case("tiff", {"image": local("scan.tif", factory.tiff_bytes())}, "unsupported image format: TIFF"),
        Case("missing-file", {"image": str(folder / "never-there.jpg")}, "file not found"),
        Case("directory", {"image": str(folder / "a-directory.jpg")}, "not a file"),
    ]
    html = factory.HTML_BYTES
    remote = [
        Case("remote-404", {"image": server.url("/nowhere.jpg")}, "HTTP 404"),
        Case(
            "remote-500", {"image": server.serve("/error.jpg", b"oops", "text/plain", status=500)}, "HTTP 500"
        ),
        Case("remote-timeout", {"image": server.stall("/stall.jpg", 3.0)}, "timed out reading"),
        Case(
            "remote-too-big",
            {"image": server.stream("/big.jpg", 50_000_000, announce=True)},
            "server announced",
        ),
        Case("remote-endless", {"image": server.stream("/endless.jpg", 50_000_000)}, "download abandoned"),
        Case(
            "remote-html",
            {"image": server.serve("/page.jpg", html, "image/jpeg")},
            "HTML page (served as image/jpeg)",
        ),
        Case(
            "remote-svg",
            {"image": server.serve("/d.svg", factory.SVG_BYTES, "image/svg+xml")},
            "an SVG drawing",
        ),
        Case("remote-empty", {"image": server.serve("/empty.jpg", b"")}, "empty file"),
        Case("remote-refused", {"image": "http://127.0.0.1:9/shoe.jpg"}, "cannot connect"),
        Case("remote-loop", {"image": server.redirect("/loop.jpg", "/loop.jpg")}, "more than 5 redirects"),
        Case("remote-gzip", {"image": server.route("/gz.jpg", _gzip)}, "gzip-encoded"),
    ]
    # Image cases get a title and, for three of them, a keeper's id: its photo must survive.
    keeper_ids = {"truncated-jpeg": "keep-2", "remote-404": "keep-3", "remote-timeout": "keep-4"}
    for case in files + remote:
        assert isinstance(case.line, dict)
        case.line.update({"source_id": keeper_ids.get(case.id, f"bad-{case.id}"), **title})
    return feed + files + remote


def _accepted_cases(folder: Path, server: PhotoServer) -> dict[str, dict[str, Any]]:
    """Awkward but usable photos: each must be stored, as RGB."""
    keeper_bytes = _jpeg(_keeper_photo(KEEPERS["keep-1"][1]))
    near = _keeper_photo(KEEPERS["keep-2"][1]).resize((216, 288), Image.Resampling.LANCZOS)
    photos = {
        "ok-cmyk": ("local", "cmyk.jpg", factory.cmyk_jpeg((120, 160))),
        "ok-16bit": ("local", "grey16.png", factory.png_16bit((120, 160))),
        "ok-animated-gif": ("local", "spin.gif", factory.palette_gif((120, 120), frames=2)),
        "ok-exif-rotated": ("local", "rotated.jpg", factory.exif_rotated_jpeg((160, 80), orientation=6)),
        "ok-wrong-type": ("remote", "/png-as-text", factory.png_bytes((120, 160))),
        "ok-exact-dup": ("remote", "/mirror/keep-1.jpg", keeper_bytes),
        "ok-near-dup": ("local", "keep-2-resold.jpg", _jpeg(near, quality=60)),
    }
    lines = {}
    for key, (where, name, data) in photos.items():
        if where == "local":
            (folder / name).write_bytes(data)
            image = str(folder / name)
        else:
            image = server.serve(name, data, "text/plain" if key == "ok-wrong-type" else "image/jpeg")
        lines[key] = {"source_id": key, "title": f"Awkward {key}", "source": SOURCE, "image": image}
    return lines


def test_hostile_items_are_recorded_errors_and_lose_nothing(
    client: TestClient, server: PhotoServer, keepers: dict, short_timeouts: None
) -> None:
    folder = keepers["folder"]
    cases = _hostile_cases(folder, server)
    accepted = _accepted_cases(folder, server)
    assert len(cases) >= 30
    lines = [
        c.line if isinstance(c.line, bytes) else json.dumps(c.line, ensure_ascii=False).encode()
        for c in cases
    ]
    lines += [json.dumps(line).encode() for line in accepted.values()]
    feed = folder / "hostile.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")

    job = ingest(client, feed)
    assert job["status"] == "completed", job
    assert (job["total"], job["failed"]) == (len(cases) + len(accepted), len(cases)), job
    errors = client.get(f"/ingest/jobs/{job['id']}", params={"errors": 1000}).json()["errors"]
    by_line = {}
    for error in errors:
        assert error["line"] not in by_line, f"two errors for line {error['line']}: {error}"
        by_line[error["line"]] = error
    for number, case in enumerate(cases, start=1):
        error = by_line.get(number)
        assert error is not None, f"{case.id}: no error recorded"
        assert case.reason in error["reason"], f"{case.id}: {error['reason']!r}"
        assert error["stage"] == case.stage, f"{case.id}: {error}"
    assert len(errors) == len(cases)

    # Nothing stored before is lost: rows, photos and vectors of every keeper are as they were.
    before, after = keepers["before"], _snapshot()
    assert after == before
    assert all(k["photo_on_disk"] and k["embedded"] and k["image_vector"] for k in after.values())
    # An endless download was abandoned early, not read to its end.
    assert server.sent["/endless.jpg"] < 20_000_000

    _check_accepted(accepted, before)


def _check_accepted(accepted: dict[str, dict[str, Any]], keepers: dict[str, dict[str, Any]]) -> None:
    from catalog.db import session_scope
    from catalog.models import Photo, Product
    from clipshoe.runtime import get_runtime

    media = get_runtime().settings.media_dir
    with session_scope() as s:
        rows = {p.source_id: p for p in s.scalars(select(Product).where(Product.source_id.in_(accepted)))}
        assert set(rows) == set(accepted)
        for key, product in rows.items():
            with Image.open(media / product.image_path) as image:
                assert (image.format, image.mode) == ("JPEG", "RGB"), key
                if key == "ok-exif-rotated":
                    assert image.width < image.height  # stored upright
        # Duplicates reuse a keeper's stored copy rather than storing the photo again.
        assert rows["ok-exact-dup"].image_path == keepers["keep-1"]["image_path"]
        assert rows["ok-exact-dup"].image_sha256 == keepers["keep-1"]["image_sha256"]
        near = rows["ok-near-dup"]
        assert near.image_path == keepers["keep-2"]["image_path"]
        assert near.image_sha256 != keepers["keep-2"]["image_sha256"]
        link = s.scalar(select(Photo).where(Photo.sha256 == near.image_sha256))
        assert link is not None and link.duplicate_of == keepers["keep-2"]["image_sha256"]
