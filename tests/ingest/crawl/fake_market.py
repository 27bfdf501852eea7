"""A fake marketplace on a local threaded HTTP server: robots.txt, Tiki's paged listing API
made from the Tiki fixture, every site's fixture on its own route, and scripted failures.

It records every request (path, query, user agent) in order and the most requests it ever
had in flight at once, so tests assert on ordering and counts, never on wall time.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.utils.server import serving_in_thread

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "marketplaces"

# Site → (route, fixture served there as its whole listing); Tiki's listing is generated instead.
SITE_ROUTES = {
    "shopee": ("/api/v4/search/search_items", "shopee_search_items.json"),
    "lazada": ("/catalog/", "lazada_catalog.html"),
    "sendo": ("/web/products", "sendo_products.json"),
    "zalora": ("/_c/v1/desktop/list_catalog_full", "zalora_catalog.json"),
}
_FIXTURE_AT = dict(SITE_ROUTES.values())
TIKI_ROUTE = "/api/v2/products"
ROBOTS = "User-agent: *\nDisallow: /cart\nDisallow: /checkout\n"


@dataclass
class Request:
    path: str
    query: dict[str, str]
    user_agent: str


@dataclass
class FakeMarket:
    """Tiki-style listing: `pages` pages of `per_page` products per query; each page repeats the
    previous page's last product (as live listings shift), and page 1 holds one nameless item."""

    pages: int = 3
    per_page: int = 4
    robots: str | None = ROBOTS  # None: robots.txt answers 404
    robots_status: int = 200
    delay: float = 0.0  # seconds each listing answer takes
    retry_after: str = "0"  # sent with a scripted 429
    # (query, page) → statuses to answer first, in order; "hang" sleeps past the client timeout,
    # "trickle" sends the page a byte at a time (never silent for long) and gives up after 100,
    # "unannounced" sends the page without a Content-Length, "redirect" sends the client to the
    # same URL again and "redirect:<location>" elsewhere.
    failures: dict[tuple[str, int], list[int | str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    max_in_flight: int = 0
    url: str = ""
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def product_id(query: str, page: int, slot: int) -> int:
        return zlib.crc32(query.encode()) % 10_000 * 10_000 + page * 100 + slot

    def page_items(self, query: str, page: int) -> list[dict]:
        template = json.loads((FIXTURES / "tiki_products.json").read_text(encoding="utf-8"))["data"][0]
        ids = [self.product_id(query, page, slot) for slot in range(self.per_page)]
        if page > 1:
            ids.insert(0, self.product_id(query, page - 1, self.per_page - 1))
        items = []
        for n, item_id in enumerate(ids):
            item = copy.deepcopy(template)
            item |= {"id": item_id, "name": f"Giày thể thao nam Biti's {query} mẫu {item_id}"}
            item |= {"price": 500_000 + n * 1000, "url_path": f"giay-the-thao-p{item_id}.html?spid=1"}
            items.append(item)
        if page == 1:
            broken = copy.deepcopy(template) | {"id": self.product_id(query, 0, 99), "name": None}
            items.append(broken)
        return items

    def expected_ids(self, queries: list[str], pages: int | None = None) -> set[str]:
        pages = pages or self.pages
        slots = [(p, s) for p in range(1, pages + 1) for s in range(self.per_page)]
        return {str(self.product_id(q, p, s)) for q in queries for p, s in slots}

    def listing_requests(self, query: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path == TIKI_ROUTE and (query is None or r.query["q"] == query)]

    def answer(self, path: str, query: dict[str, str]) -> tuple[int | str, dict[str, str], bytes]:
        if path == "/robots.txt":
            if self.robots is None:
                return 404, {}, b"not found"
            return self.robots_status, {"Content-Type": "text/plain"}, self.robots.encode()
        if path in _FIXTURE_AT:
            body = (FIXTURES / _FIXTURE_AT[path]).read_bytes()
            kind = "text/html" if path == "/catalog/" else "application/json"
            return 200, {"Content-Type": f"{kind}; charset=utf-8"}, body
        if path != TIKI_ROUTE:
            return 404, {}, b"not found"
        q, page = query.get("q", ""), int(query.get("page", "1"))
        with self._lock:
            script = self.failures.get((q, page))
            status = script.pop(0) if script else 200
        if isinstance(status, str) and status.startswith("redirect"):
            return status, {}, b""
        if status not in (200, "trickle", "unannounced"):
            headers = {"Retry-After": self.retry_after} if status == 429 else {}
            return status, headers, b'{"error": "scripted"}'
        paging = {"total": self.pages * self.per_page, "per_page": self.per_page}
        paging |= {"current_page": page, "last_page": self.pages}
        body = {"data": self.page_items(q, page) if page <= self.pages else [], "paging": paging}
        return status, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        market = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with market._lock:
                    market.requests.append(Request(parts.path, query, self.headers.get("User-Agent", "")))
                    market._in_flight += 1
                    market.max_in_flight = max(market.max_in_flight, market._in_flight)
                try:
                    if parts.path != "/robots.txt" and market.delay:
                        time.sleep(market.delay)
                    status, headers, body = market.answer(parts.path, query)
                    if status == "hang":
                        time.sleep(4)
                        status = 200
                        headers, body = {}, b"{}"
                    if isinstance(status, str) and status.startswith("redirect"):
                        headers = {"Location": status.partition(":")[2] or self.path}
                        status = 302
                    self.send_response(200 if status in ("trickle", "unannounced") else int(status))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if status != "unannounced":
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if status == "trickle":
                        for i in range(100):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.05)
                        return
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler hung up (a timeout, or a killed process)
                finally:
                    with market._lock:
                        market._in_flight -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serving(market: FakeMarket) -> Iterator[FakeMarket]:
    with serving_in_thread(market.handler()) as url:
        market.url = url
        yield market
