"""A local HTTP server playing a marketplace's image CDN, good and hostile, for the photo tests.

Routes are registered per test as `server.route(path, handler)`; helpers cover the usual
cases (bytes with a content type, an error status, a stall, a trickle, an endless stream).
Every request is counted by path, so a test can tell that a photo was not downloaded twice.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is the point
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class PhotoServer:
    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self._httpd = httpd
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # body bytes written per path
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def serve(self, path: str, body: bytes, content_type: str = "image/jpeg", status: int = 200) -> str:
        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            self.write(h, body)

        return self.route(path, handler)

    def write(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        h.wfile.write(data)
        with self._lock:
            self.sent[h.path] += len(data)

    def stream(self, path: str, total: int, chunk: bytes = b"\xff" * 65536, announce: bool = False) -> str:
        """`total` bytes of JPEG-looking junk, chunked (no Content-Length) unless `announce`."""

        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            if announce:
                h.send_header("Content-Length", str(total))
            else:
                h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            sent = 0
            try:
                while sent < total:
                    piece = chunk[: total - sent]
                    frame = piece if announce else b"%x\r\n%s\r\n" % (len(piece), piece)
                    self.write(h, frame)
                    sent += len(piece)
                if not announce:
                    h.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

        return self.route(path, handler)

    def stall(self, path: str, seconds: float) -> str:
        """Accept the request, then say nothing for `seconds`."""

        def handler(h: BaseHTTPRequestHandler) -> None:
            time.sleep(seconds)
            try:
                h.send_response(204)
                h.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass

        return self.route(path, handler)

    def trickle(self, path: str, pause: float, chunks: int) -> str:
        """A byte every `pause` seconds: never silent long enough for a read timeout."""

        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(chunks))
            h.end_headers()
            try:
                for _ in range(chunks):
                    self.write(h, b"\xff")
                    h.wfile.flush()
                    time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass

        return self.route(path, handler)

    def redirect(self, path: str, target: str) -> str:
        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(302)
            h.send_header("Location", target)
            h.send_header("Content-Length", "0")
            h.end_headers()

        return self.route(path, handler)


@contextmanager
def photo_server() -> Iterator[PhotoServer]:
    state: dict[str, PhotoServer] = {}

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server = state["server"]
            with server._lock:
                server.hits[self.path] += 1
            handler = server.routes.get(self.path)
            if handler is None:
                self.send_error(404, "no such photo")
                return
            handler(self)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    httpd = _Server(("127.0.0.1", 0), RequestHandler)
    state["server"] = PhotoServer(httpd)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()
