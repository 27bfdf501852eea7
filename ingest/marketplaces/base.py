"""What a marketplace adapter is: the URL of one listing page, and a parser from that page to records.

An adapter never fetches: `ingest.crawl` does, politely. It only knows the site's shapes, so
the same parser reads a live response, a saved one, or a test fixture. Each listing item
becomes a `ProductRecord` through `ingest.records.build_record` (the one normalisation path
every feed takes) or a `FeedError` whose `line` is the item's 1-based position on the page.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ingest.marketplaces.values import category_from_path
from ingest.records import FeedError, ProductRecord, build_record

# build_record resolves relative image paths against a feed's folder. A page has no folder:
# adapters pass only absolute URLs (`values.absolute_url`), so this is never used.
_NO_FOLDER = Path("/")


class PageFormatError(ValueError):
    """The response is not a listing page of this site (a captcha page, an error body, a new layout)."""


@dataclass(frozen=True)
class Listing:
    """What to list on a site: a search keyword, a category (the site's own id or slug), or both."""

    query: str | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        if not (self.query or self.category):
            raise ValueError("a listing needs a search query or a category")


@dataclass
class ListingPage:
    """One parsed page: its items in page order, and whether a next page exists."""

    items: list[ProductRecord | FeedError] = field(default_factory=list)
    has_more: bool = False
    total: int | None = None

    @property
    def records(self) -> list[ProductRecord]:
        return [item for item in self.items if isinstance(item, ProductRecord)]

    @property
    def errors(self) -> list[FeedError]:
        return [item for item in self.items if isinstance(item, FeedError)]


class Marketplace(ABC):
    """One site. Subclasses set the class attributes and write `page_url` and `parse_page`."""

    name: ClassVar[str]
    # Where listing requests go by default; `base_url` replaces it (a mirror, a test server).
    api_url: ClassVar[str]
    # The public site, for product links: those stay real whatever base_url serves the pages.
    site_url: ClassVar[str]
    page_size: ClassVar[int]
    currency: str = "VND"  # an instance may differ (a Zalora storefront abroad)

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or self.api_url).rstrip("/")

    @abstractmethod
    def page_url(self, listing: Listing, page: int) -> str:
        """The URL of 1-based `page` of `listing`."""

    @abstractmethod
    def parse_page(self, body: bytes) -> ListingPage:
        """Parse a listing response; raise PageFormatError when it is not one."""

    def item_fields(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """One listing item as ProductRecord's raw fields; ValueError/TypeError say what is wrong."""
        raise NotImplementedError

    def record(
        self, position: int, item: Any, page_category: Sequence[str] = ()
    ) -> ProductRecord | FeedError:
        """Build one item's record, or a FeedError that names the item and the reason.

        `page_category` is the page's own category path (a category page's breadcrumb), used
        for items that carry none.
        """
        if not isinstance(item, Mapping):
            return FeedError(position, None, f"expected a product object, got {type(item).__name__}")
        try:
            fields = self.item_fields(item)
        except (ValueError, TypeError) as exc:
            return FeedError(position, self.item_id(item), f"bad item: {exc}")
        fields.setdefault("source", self.name)
        fields.setdefault("currency", self.currency)
        path = list(fields.pop("category_path", None) or page_category)
        if path:
            fields["category"] = category_from_path(path)
            fields.setdefault("attributes", {})["category_path"] = path
        attributes = fields.get("attributes", {})
        fields["attributes"] = {k: v for k, v in attributes.items() if v not in (None, [], {})}
        return build_record(position, fields, _NO_FOLDER)

    def item_id(self, item: Mapping[str, Any]) -> str | None:
        """The item's id for error messages, before the item is known to be well formed."""
        value = item.get("id")
        return None if value is None else str(value)

    def records(self, items: Any, page_category: Sequence[str] = ()) -> list[ProductRecord | FeedError]:
        """Every item of a page, in order; a non-list is a page this adapter cannot read."""
        if not isinstance(items, list):
            raise PageFormatError(f"{self.name}: expected a list of items, got {type(items).__name__}")
        return [self.record(n, item, page_category) for n, item in enumerate(items, start=1)]


def load_json(body: bytes, site: str) -> dict[str, Any]:
    """A response body as a JSON object, or PageFormatError saying what came instead."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        head = body[:60].decode("utf-8", errors="replace").strip()
        raise PageFormatError(f"{site}: response is not JSON ({exc}); it starts {head!r}") from exc
    if not isinstance(data, dict):
        raise PageFormatError(f"{site}: expected a JSON object, got {type(data).__name__}")
    return data
