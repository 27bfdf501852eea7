"""The operators' ingest view in a real browser: start a job, follow it, see item errors."""

from __future__ import annotations

import re

from tests.web.conftest import Server, skip_without_browser

skip_without_browser()
from playwright.sync_api import Page, expect  # noqa: E402


def test_start_and_follow_an_ingest_job(page: Page, server: Server, tmp_path) -> None:
    # A feed of the sample catalogue (already loaded: rows come back unchanged) plus one broken row.
    sample = server.data_dir / "sample" / "styles.csv"
    feed = tmp_path / "styles.csv"
    rows = sample.read_text().splitlines()
    feed.write_text("\n".join([*rows[:4], "99999,,,not a price,,,,,,,,,,,,,,,,", ""]))
    (tmp_path / "images").symlink_to(sample.parent / "images")

    page.goto("/#/jobs")
    expect(page.get_by_role("heading", name="Ingest jobs")).to_be_visible()
    page.get_by_label("Feed path on the server").fill("/no/such/feed.csv")
    page.get_by_label("API key").fill("k-123")
    page.get_by_role("button", name="Start job").click()
    expect(page.get_by_role("alert")).to_contain_text("feed folders")  # outside them: refused

    page.get_by_label("Feed path on the server").fill(str(feed))
    with page.expect_request("**/ingest/jobs") as posted:
        page.get_by_role("button", name="Start job").click()
    assert posted.value.headers.get("x-api-key") == "k-123"  # ready for the key the API will ask for
    detail = page.locator("#job-detail")
    expect(detail.locator(".pill")).to_have_text("completed", timeout=60_000)
    expect(detail).to_contain_text("3 unchanged")
    expect(detail).to_contain_text("1 failed")
    expect(detail.locator("table.errors tbody tr")).to_have_count(1)
    expect(page.locator("#jobs-table tbody tr").first).to_contain_text("completed")
    expect(page).to_have_url(re.compile(r"#/jobs/\d+$"))
    page.reload()
    expect(page.get_by_label("API key")).to_have_value("k-123")  # kept for the tab's session
    expect(detail.locator("table.errors tbody tr")).to_have_count(1)  # the followed job is in the URL
