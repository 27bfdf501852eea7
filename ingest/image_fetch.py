"""Downloading product photos: bounded in time, in size and in concurrency.

A feed names photos by URL; a hostile or broken server must cost at most `FetchLimits` and
end as an `ImageRejected` with a reason a person can act on ("HTTP 404", "timed out reading
after 10 s", "too large: more than 10485760 bytes"). The bytes are streamed and the download
is abandoned as soon as it passes the size cap, so a 50 GB "photo" never reaches memory.
What the bytes are is decided later, from the bytes (`ingest.images.validate_image`): the
Content-Type only adds context to a rejection.

A feed must not make the server fetch from itself or its network (SSRF): unless
`allow_private`, every connection, each redirect's included, is opened only to a public address,
checked on the address actually dialled, so a name that resolves elsewhere the second time (DNS
rebinding) cannot slip past. Proxies from the environment are not used, for the same reason.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ingest.images import ImageRejected

USER_AGENT = "ClipShoe/0.1 image fetcher (+https://github.com/clipshoe/clipshoe)"
_CHUNK = 64 * 1024
# A compressed transfer could inflate far past the size cap inside one chunk: ask for none, and
# refuse one sent anyway (photos are compressed already; real image servers send them as is).
_IDENTITY = {"", "identity"}


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 5.0  # seconds to open the connection
    read_timeout: float = 10.0  # seconds of silence between two chunks
    deadline: float = 30.0  # seconds for the whole download, so a trickling server ends too
    max_redirects: int = 5
    concurrency: int = 8  # downloads at once (ingest.photos.PhotoStore)
    allow_private: bool = False  # also loopback, private and link-local addresses (tests, closed networks)


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    content_type: str | None  # what the server claimed; context only, never trusted


class _PublicOnly(httpcore.SyncBackend):
    """Opens connections to public addresses only, refusing a host if any of its addresses is not."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for address in addresses:
            if kind := _non_public(address):
                raise ImageRejected(
                    f"refused {host}: {kind}; photos download from public addresses only "
                    "(ingest.allow_private_urls)"
                )
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:  # the vetted addresses, never the name: it could resolve again
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


def _non_public(address: str) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


def make_client(limits: FetchLimits) -> httpx.Client:
    """One pooled client, shared by the download threads (httpx clients are thread-safe)."""
    transport = httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=limits.concurrency, max_keepalive_connections=limits.concurrency)
    )
    if not limits.allow_private:
        # httpx has no public hook for where a connection goes: its pool dials through this backend.
        pool = transport._pool
        if not hasattr(pool, "_network_backend"):
            raise RuntimeError("httpcore changed: photo downloads cannot be kept to public addresses")
        pool._network_backend = _PublicOnly()
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"User-Agent": USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity"},
    )


@contextmanager
def client_for(limits: FetchLimits, client: httpx.Client | None = None) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    with make_client(limits) as own:
        yield own


def fetch_image(url: str, limits: FetchLimits, client: httpx.Client | None = None) -> Fetched:
    """Download one photo, or raise ImageRejected saying why not."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ImageRejected(f"not an http(s) URL: {url[:200]}")
    with client_for(limits, client) as http:
        try:
            return _download(http, url, limits)
        except httpx.ConnectTimeout as exc:
            raise ImageRejected(
                f"timed out connecting to {_host(url)} after {limits.connect_timeout:g} s"
            ) from exc
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
            raise ImageRejected(
                f"timed out reading from {_host(url)} after {limits.read_timeout:g} s"
            ) from exc
        except httpx.TooManyRedirects as exc:
            raise ImageRejected(f"more than {limits.max_redirects} redirects from {_host(url)}") from exc
        except httpx.ConnectError as exc:
            raise ImageRejected(f"cannot connect to {_host(url)}: {_first_line(exc)}") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ImageRejected(
                f"download failed from {_host(url)}: {type(exc).__name__}: {_first_line(exc)}"
            ) from exc


def _download(http: httpx.Client, url: str, limits: FetchLimits) -> Fetched:
    started = time.monotonic()
    with http.stream("GET", url) as response:
        if response.status_code != 200:
            raise ImageRejected(
                f"HTTP {response.status_code} {response.reason_phrase} from {_host(url)}".strip()
            )
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in _IDENTITY:
            raise ImageRejected(f"refused {encoding}-encoded download from {_host(url)} (possible bomb)")
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limits.max_bytes:
            raise ImageRejected(f"too large: server announced {announced} bytes, limit {limits.max_bytes}")
        data = bytearray()
        for chunk in response.iter_raw(_CHUNK):
            data += chunk
            if len(data) > limits.max_bytes:
                raise ImageRejected(f"too large: more than {limits.max_bytes} bytes (download abandoned)")
            if time.monotonic() - started > limits.deadline:
                raise ImageRejected(f"too slow: {_host(url)} took over {limits.deadline:g} s (abandoned)")
        return Fetched(url=url, data=bytes(data), content_type=response.headers.get("content-type"))


def _host(url: str) -> str:
    return urlsplit(url).netloc or url[:100]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
