"""The saved listing responses under tests/fixtures/marketplaces/, one per site."""

from __future__ import annotations

from pathlib import Path

from ingest.marketplaces import ListingPage, get_marketplace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "marketplaces"
FIXTURE_FILES = {
    "shopee": "shopee_search_items.json",
    "tiki": "tiki_products.json",
    "lazada": "lazada_catalog.html",
    "sendo": "sendo_products.json",
    "zalora": "zalora_catalog.json",
}


def fixture_bytes(site: str) -> bytes:
    return (FIXTURES / FIXTURE_FILES[site]).read_bytes()


def parse_fixture(site: str) -> ListingPage:
    return get_marketplace(site).parse_page(fixture_bytes(site))
