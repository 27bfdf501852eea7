"""Crawl → ingest → search, end to end: the crawler reads two marketplaces (Tiki's JSON API and
Sendo's, from the fixtures) on a local threaded HTTP server that also serves every listing's photo;
the feed it writes goes through the API to the real worker, which downloads the photos; a search
for Vietnamese words of the titles, with or without diacritics, finds the listings, in đồng."""

from __future__ import annotations

import io
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ingest.crawl import Crawler, Politeness, Stream
from ingest.marketplaces import Listing
from tests.integration import ingest
from tests.utils.server import serving_in_thread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "marketplaces"
# Each site's listing route on the fake marketplace, and the fixture it answers with.
LISTINGS = {
    "tiki": ("/api/v2/products", "tiki_products.json"),
    "sendo": ("/web/products", "sendo_products.json"),
}
FAST = Politeness(
    user_agent="ClipShoeBot/0.1 (+test)", requests_per_second=1000, backoff_base=0.01, timeout=10
)


def shoe_photo(name: str) -> bytes:
    """A JPEG of its own for each name (noise: no two are near-duplicates of each other)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (96, 72, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class Marketplace:
    """The fixtures, with every photo URL pointing back at this server's /photos/."""

    def __init__(self) -> None:
        self.url = ""
        self.photo_requests: list[str] = []
        self._lock = threading.Lock()

    def listing(self, site: str) -> bytes:
        body = json.loads((FIXTURES / LISTINGS[site][1]).read_text(encoding="utf-8"))
        for n, item in enumerate(body["data"]):
            item["thumbnail_url"] = f"{self.url}/photos/{site}-{n}.jpg"
            item.pop("original_img_url", None)
        return json.dumps(body, ensure_ascii=False).encode()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /cart\n"
        if path.startswith("/photos/"):
            with self._lock:
                self.photo_requests.append(path)
            return 200, "image/jpeg", shoe_photo(path)
        for site, (route, _) in LISTINGS.items():
            if path == route:
                return 200, "application/json; charset=utf-8", self.listing(site)
        return 404, "text/plain", b"not found"


@contextmanager
def serving(market: Marketplace) -> Iterator[Marketplace]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = market.answer(urlsplit(self.path).path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving_in_thread(Handler) as url:
        market.url = url
        yield market


@pytest.fixture(scope="module")
def crawled(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The two listings crawled into a feed and ingested through the API and the worker."""
    folder = tmp_path_factory.mktemp("crawl")
    with serving(Marketplace()) as market:
        streams = [Stream(site, Listing(query="giày")) for site in LISTINGS]
        crawler = Crawler(folder, FAST, base_urls={site: market.url for site in LISTINGS})
        report = crawler.run(streams, pages=1)
        lines = (folder / "products.jsonl").read_text(encoding="utf-8").splitlines()
        job = ingest(client, folder / "products.jsonl")  # the worker downloads the photos meanwhile
    feed = [json.loads(line) for line in lines]
    return {"report": report, "feed": feed, "job": job, "photos": market.photo_requests}


def test_the_crawled_feed_is_ingested_with_its_photos(crawled: dict) -> None:
    report, feed, job = crawled["report"], crawled["feed"], crawled["job"]
    assert report.complete
    assert {r["source"] for r in feed} == set(LISTINGS)
    assert all(r["image"].startswith("http://127.0.0.1:") and r["currency"] == "VND" for r in feed)
    assert job["status"] == "completed", job
    assert (job["total"], job["indexed"], job["failed"]) == (len(feed), len(feed), 0), job["errors"]
    # Every photo came over HTTP from the marketplace, once.
    wanted = sorted(urlsplit(r["image"]).path for r in feed)
    assert sorted(crawled["photos"]) == wanted


@pytest.mark.parametrize("q", ["thượng đình", "thuong dinh"])
def test_a_vietnamese_title_word_finds_the_listing_in_dong(client: TestClient, crawled: dict, q: str) -> None:
    [listing] = [r for r in crawled["feed"] if "Thượng Đình" in r["title"]]
    hits = client.get("/search", params={"q": q, "limit": 5}).json()["hits"]
    top = hits[0]
    assert (top["source"], top["source_id"]) == ("sendo", listing["source_id"])
    assert top["title"] == listing["title"]
    assert (top["price"], top["currency"]) == (listing["price"], "VND")
    photo = client.get(f"/products/{top['id']}/photo")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"


def test_a_search_for_giay_the_thao_finds_both_sites(client: TestClient, crawled: dict) -> None:
    """'giày thể thao' (sports shoes) is in a title on each site; both come back, priced in VND."""
    wanted = {(r["source"], r["source_id"]) for r in crawled["feed"] if "thể thao" in r["title"].lower()}
    assert {s for s, _ in wanted} == set(LISTINGS)
    hits = client.get("/search", params={"q": "giày thể thao", "limit": 50}).json()["hits"]
    found = {(h["source"], h["source_id"]) for h in hits if h["source"] in LISTINGS}
    assert wanted <= found
    assert all(h["currency"] == "VND" for h in hits if h["source"] in LISTINGS)
