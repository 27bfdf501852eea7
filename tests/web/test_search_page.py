"""The search page in a real browser: text, filters, photo, Vietnamese, product view, phone width."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.web.conftest import ARTIFACTS, Server, skip_without_browser

skip_without_browser()
from playwright.sync_api import Page, expect  # noqa: E402


def _search(page: Page, text: str) -> None:
    page.get_by_label("Describe a shoe").fill(text)
    page.keyboard.press("Enter")


def _search_response(query: str):
    """Predicate for the /search response of one query (other searches may be in flight)."""

    def match(r) -> bool:
        url = urlsplit(r.url)
        return url.path == "/search" and parse_qs(url.query).get("q") == [query]

    return match


def _cards(page: Page):
    cards = page.locator("#grid .card")
    expect(cards.first).to_be_visible()
    expect(page.locator("#results")).not_to_have_attribute("aria-busy", "true")
    return cards


def test_text_search_shows_results(page: Page) -> None:
    page.goto("/")
    _search(page, "black sneakers")
    cards = _cards(page)
    expect(page.get_by_role("status").filter(has_text="black sneakers")).to_contain_text("shoes for")
    assert cards.count() > 0
    first = cards.first
    expect(first.locator("img")).to_have_attribute("src", re.compile(r"/products/\d+/photo$"))
    expect(first.locator(".price")).to_have_text(re.compile(r"^₹[\d,]+$"))  # INR as ₹2,499
    assert "q=black+sneakers" in page.url  # shareable
    page.reload()
    expect(page.get_by_label("Describe a shoe")).to_have_value("black sneakers")
    _cards(page)


def test_brand_and_price_filters(page: Page) -> None:
    page.goto("/?q=shoes")
    _cards(page)
    brand_box = page.locator("#facet-brand input[type=checkbox]").first
    brand = brand_box.get_attribute("value")
    brand_box.check()
    expect(page).to_have_url(re.compile(r"[?&]brand="))
    assert parse_qs(urlsplit(page.url).query)["brand"] == [brand]
    cards = _cards(page)
    brands = {b.lower() for b in cards.evaluate_all("cs => cs.map(c => c.dataset.brand)")}
    assert brands == {brand.lower()}  # facets show the catalogue spelling; filters ignore case
    expect(page.locator("#facet-brand input[type=checkbox]:checked")).to_have_count(1)

    page.goto("/?q=shoes")
    _cards(page)
    page.get_by_label("To", exact=True).fill("2000")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"price_max=2000"))
    cards = _cards(page)
    prices = [float(p) for p in cards.evaluate_all("cs => cs.map(c => c.dataset.price)")]
    assert prices and max(prices) <= 2000


def test_photo_upload_and_a_rejected_photo(page: Page, server: Server) -> None:
    page.goto("/")
    page.locator("#photo").set_input_files(str(server.sample_photo()))
    expect(page.locator("#photo-chip")).to_be_visible()
    _cards(page)
    expect(page.locator("#status")).to_contain_text("look like your photo")

    page.locator("#photo").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not really a photo"}]
    )
    message = page.locator("#message")
    expect(message).to_contain_text("unusable photo")  # the API's own words
    expect(message).to_contain_text("Try another photo")  # and what to do
    message.get_by_role("button", name="Remove photo").click()
    expect(page.locator("#photo-chip")).to_be_hidden()


def test_vietnamese_interface_and_removable_chip(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("button", name="Tìm", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Bộ lọc")).to_be_visible()
    page.reload()  # remembered
    expect(page.get_by_label("Mô tả đôi giày")).to_be_visible()

    with page.expect_response(_search_response("giày nam dưới 2000")) as first:
        page.get_by_label("Mô tả đôi giày").fill("giày nam dưới 2000")
        page.keyboard.press("Enter")
    assert first.value.json()["filters"]["price_max"] == 2000
    chip = page.locator('.chip[data-kind="price_max"]')
    expect(chip).to_contain_text("dưới ₹2,000")
    expect(page.locator('.chip[data-kind="gender"]')).to_contain_text("Giới tính: Nam")
    prices = [float(p) for p in _cards(page).evaluate_all("cs => cs.map(c => c.dataset.price)")]
    assert max(prices) <= 2000

    with page.expect_response(_search_response("giày nam dưới 2000")) as second:
        chip.get_by_role("button").click()
    body = second.value.json()
    assert body["filters"]["price_max"] is None and "men" in body["filters"]["gender"]
    assert "ignore=price_max" in page.url
    expect(chip).to_have_count(0)
    prices = [float(p) for p in _cards(page).evaluate_all("cs => cs.map(c => c.dataset.price)")]
    assert max(prices) > 2000


def test_product_view_with_similar_shoes(page: Page) -> None:
    page.goto("/?q=sandals")
    card = _cards(page).first
    title = card.locator(".title").inner_text()
    product_id = card.get_attribute("data-id")
    card.locator(".card-link").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=title)).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/product/\d+$"))
    similar = dialog.locator(".similar .card")
    expect(similar.first).to_be_visible()
    assert product_id not in similar.evaluate_all("cs => cs.map(c => c.dataset.id)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).not_to_have_url(re.compile("#/product"))

    card.get_by_role("button", name=f"Shoes like {title}").click()
    expect(page).to_have_url(re.compile(rf"similar={product_id}\b"))
    expect(page.locator(".chip.similar")).to_contain_text(title)
    _cards(page)
    expect(page.locator("#status")).to_contain_text("similar shoes")


def test_phone_width_has_no_horizontal_scroll(browser, server: Server) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN", base_url=server.url)
    try:
        page = ctx.new_page()
        page.goto("/?q=" + "giày thể thao")
        _cards(page)
        expect(page.locator("html")).to_have_attribute("lang", "vi")  # default from the browser
        page.locator("#filters summary").click()
        expect(page.locator("#facet-brand")).to_be_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        page.screenshot(path=str(_artifact("phone-search.png")), full_page=True)
        page.goto("/#/jobs")
        expect(page.get_by_role("heading", name="Tác vụ nhập liệu")).to_be_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        page.screenshot(path=str(_artifact("phone-jobs.png")), full_page=True)
    finally:
        ctx.close()


def _artifact(name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def test_state_in_url_restores_filters(page: Page) -> None:
    page.goto("/?q=shoes&gender=women&price_max=3000")
    cards = _cards(page)
    expect(page.locator('#facet-gender input[value="women"]')).to_be_checked()
    expect(page.get_by_label("To", exact=True)).to_have_value("3000")
    prices = [float(p) for p in cards.evaluate_all("cs => cs.map(c => c.dataset.price)")]
    assert max(prices) <= 3000
    expect(page.locator("#filter-count")).to_have_text("2")


def test_grouped_offers_and_server_errors_are_shown(page: Page) -> None:
    def with_offers(route) -> None:
        body = route.fetch().json()
        body["hits"][0].update(offers=3, offers_price_min=1299, offers_price_max=2499)
        route.fulfill(json=body)

    page.route("**/search?*", with_offers)
    page.goto("/?q=sneakers")
    cards = _cards(page)
    expect(cards.first.locator(".offers")).to_have_text("3 offers · ₹1,299 – ₹2,499")
    expect(cards.nth(1).locator(".offers")).to_have_count(0)

    page.unroute("**/search?*")
    page.route("**/search?*", lambda r: r.fulfill(status=503, json={"detail": "vector index unavailable: x"}))
    _search(page, "boots")
    message = page.get_by_role("alert")
    expect(message).to_contain_text("vector index unavailable")
    expect(message).to_contain_text("retry")
    page.unroute("**/search?*")
    message.get_by_role("button", name="Retry").click()
    _cards(page)
    expect(page.locator("#message")).to_be_hidden()


def test_empty_state_says_what_to_do(page: Page) -> None:
    page.goto("/?q=shoes&price_max=1")
    message = page.locator("#message")
    expect(message).to_contain_text("No shoes match")
    expect(message).to_contain_text("removing a filter")
    message.get_by_role("button", name="Clear filters").click()
    _cards(page)
    assert "price_max" not in page.url


def test_page_and_assets_are_served(server: Server) -> None:
    import httpx

    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '"sports shoes": "giày thể thao"' in page.text  # value names from ingest/vocab.py
    js = httpx.get(f"{server.url}/static/js/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert httpx.get(f"{server.url}/static/nope.js").status_code == 404
    assert "/" not in httpx.get(f"{server.url}/openapi.json").json()["paths"]  # not part of the API
