"""`clipshoe crawl run|report|sites` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clipshoe.cli import app
from clipshoe.settings import get_settings
from tests.ingest.crawl.fake_market import FakeMarket, serving

runner = CliRunner()


def test_run_then_report(tmp_path: Path) -> None:
    out = tmp_path / "tiki"
    with serving(FakeMarket(pages=3)) as market:
        args = ["crawl", "run", "--site", "tiki", "--query", "giày thể thao", "--pages", "2"]
        args += ["--out", str(out)]
        result = runner.invoke(app, [*args, "--base-url", market.url, "--rate", "1000"])
        assert result.exit_code == 0, result.output
        assert "complete" in result.output and "products 8" in result.output
        assert market.requests[1].user_agent.startswith("ClipShoeBot/0.1")  # from settings
        again = runner.invoke(app, [*args, "--base-url", market.url, "--rate", "1000"])
        assert again.exit_code == 0 and len(market.listing_requests()) == 2  # resumed: nothing left
    report = runner.invoke(app, ["crawl", "report", str(out), "--json"])
    assert report.exit_code == 0, report.output
    summary = json.loads(report.output)
    assert summary["products"] == 8 and summary["complete"] and summary["errors"] == {"item": 1}
    assert summary["feed"] == str(out / "products.jsonl")
    assert "giày thể thao" in runner.invoke(app, ["crawl", "report", str(out)]).output


def test_a_stopped_listing_exits_non_zero_and_says_how_to_resume(tmp_path: Path) -> None:
    robots = "User-agent: ClipShoeBot\nDisallow: /\n"
    with serving(FakeMarket(robots=robots)) as market:
        args = ["crawl", "run", "--site", "tiki", "--query", "dép", "--out", str(tmp_path)]
        result = runner.invoke(app, [*args, "--base-url", market.url, "--rate", "1000"])
    assert result.exit_code == 1 and "robots" in result.output and "run the same command" in result.output


def test_bad_arguments_are_refused_with_a_message(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["crawl", "run", "--site", "amazon", "--query", "x", "--out", str(tmp_path)])
    assert unknown.exit_code == 2 and "unknown site 'amazon'" in unknown.output
    nothing = runner.invoke(app, ["crawl", "run", "--site", "tiki", "--out", str(tmp_path)])
    assert nothing.exit_code == 2 and "--query or --category" in nothing.output
    blank = runner.invoke(app, ["crawl", "run", "--site", "tiki", "--query", " ", "--out", str(tmp_path)])
    assert blank.exit_code == 2 and "must not be blank" in blank.output
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "products.jsonl").write_text('{"id": 1, "title": "x"}\n')
    foreign = runner.invoke(
        app, ["crawl", "run", "--site", "tiki", "--query", "x", "--out", str(tmp_path / "feed")]
    )
    assert foreign.exit_code == 2 and "not a crawl folder" in foreign.output
    missing = runner.invoke(app, ["crawl", "report", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no crawl here" in missing.output


def test_sites_lists_every_marketplace() -> None:
    result = runner.invoke(app, ["crawl", "sites"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "shopee",
        "tiki",
        "lazada",
        "sendo",
        "zalora",
    ]


def test_settings_point_a_site_at_a_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPSHOE_CRAWL__BASE_URLS", '{"tiki": "http://mirror.example:8080"}')
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["crawl", "sites"])
    finally:
        get_settings.cache_clear()  # the next caller reads the restored environment
    assert "tiki     http://mirror.example:8080" in result.output
    assert "sendo    https://searchlist-api.sendo.vn" in result.output
