"""The crawl report: what a crawl folder holds and how it got there, read from its checkpoint.

It reads without the folder's lock, so it also reports on a crawl that is still running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.crawl.store import PRODUCTS, CrawlFolderError, read_checkpoint


def stream_status(stream: dict[str, Any]) -> str:
    """complete: the site has no more pages, or the page limit is reached; stopped: the last
    attempt failed (a rerun retries that page); pending: not finished yet."""
    if stream.get("exhausted") or stream["next_page"] > stream["max_pages"]:
        return "complete"
    return "stopped" if stream.get("last_error") else "pending"


@dataclass
class CrawlReport:
    folder: Path
    counters: dict[str, int] = field(default_factory=dict)
    streams: list[dict[str, Any]] = field(default_factory=list)
    updated: str | None = None

    @property
    def errors_by_kind(self) -> dict[str, int]:
        counts = sorted(self.counters.items())
        return {k.removeprefix("error_"): v for k, v in counts if k.startswith("error_") and v}

    @property
    def complete(self) -> bool:
        return all(s["status"] == "complete" for s in self.streams)

    @property
    def stopped(self) -> list[dict[str, Any]]:
        return [s for s in self.streams if s["status"] == "stopped"]

    def as_dict(self) -> dict[str, Any]:
        c = self.counters
        return {
            "folder": str(self.folder),
            "feed": str(self.folder / PRODUCTS),
            "updated": self.updated,
            "complete": self.complete,
            "pages": c.get("pages", 0),
            "products": c.get("products", 0),
            "duplicates": c.get("duplicates", 0),
            "requests": c.get("requests", 0),
            "retries": c.get("retries", 0),
            "errors": self.errors_by_kind,
            "streams": self.streams,
        }

    def text(self) -> str:
        d = self.as_dict()
        errors = ", ".join(f"{k} {v}" for k, v in d["errors"].items()) or "none"
        lines = [
            f"crawl {d['folder']} (updated {d['updated']}): {'' if d['complete'] else 'not '}complete",
            f"  pages {d['pages']}, products {d['products']} (+{d['duplicates']} duplicates skipped), "
            f"requests {d['requests']}, retries {d['retries']}",
            f"  errors: {errors}",
        ]
        for s in self.streams:
            what = " ".join(f"{k}={s[k]!r}" for k in ("query", "category") if s.get(k))
            done = f"{s['next_page'] - 1} of {s['max_pages']} pages"
            line = f"  {s['site']} {what}: {s['status']}, {done}{' (the last)' if s.get('exhausted') else ''}"
            if s.get("last_error"):
                line += f" — {s['last_error']}"
            lines.append(line)
        lines.append(f"  feed: {d['feed']}")
        return "\n".join(lines)


def load_report(folder: Path) -> CrawlReport:
    state = read_checkpoint(folder)
    if state is None:
        raise CrawlFolderError(f"{folder}: no crawl here (no checkpoint.json)")
    streams = [{"key": key, **s, "status": stream_status(s)} for key, s in state.get("streams", {}).items()]
    return CrawlReport(folder, dict(state.get("counters") or {}), streams, state.get("updated"))
