"""The operations commands against a running server (`--url`): its `/admin` endpoints.

Embedded, `clipshoe serve` owns the vector store, so `clipshoe reindex | rollback | prune | doctor |
models list` cannot open it themselves; with `--url` they ask that server to do the work and
follow it here, printing what the local command prints.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer

API_KEY_ENV = "CLIPSHOE_API_KEY"
POLL_S = 0.5
# A reindex request returns once the model has loaded on the server (a bad name fails at once).
REQUEST_TIMEOUT_S = 600.0

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Ask a running server to do it (e.g. http://127.0.0.1:8000): needed while `clipshoe serve` "
        "owns an embedded store.",
    ),
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar=API_KEY_ENV, help="Key for the server's admin endpoints.")
]


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


class Remote:
    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=REQUEST_TIMEOUT_S)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON; a refusal or an unreachable server is a one-line error and exit 1."""
        try:
            r = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise fail(f"cannot reach {self.url}: {exc}") from exc
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            hint = f" (give --api-key or set {API_KEY_ENV})" if r.status_code == 401 else ""
            raise fail(f"{self.url} answered {r.status_code}: {detail}{hint}")
        return r.json()

    def follow(self, op: dict[str, Any], desc: str) -> dict[str, Any]:
        """Poll an operation until it ends, with a progress bar; its result, or exit 1 with its error."""
        from tqdm import tqdm

        bar = tqdm(desc=desc, unit="batch")
        while op["status"] == "running":
            time.sleep(POLL_S)
            op = self.call("GET", f"/admin/operations/{op['id']}")
            bar.total, bar.n = op["progress"]["total"] or None, op["progress"]["done"]
            bar.refresh()
        bar.close()
        if op["status"] != "succeeded":
            raise fail(f"{op['kind']} failed on {self.url}: {op['error']}")
        return op["result"] or {}
