"""Search through the API over a catalogue ingested by the real worker."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

pytestmark = pytest.mark.usefixtures("catalogue")


def _satisfies(hit: dict, params: dict) -> bool:
    def any_of(key: str, field: str) -> bool:
        wanted = params.get(key)
        if not wanted:
            return True
        values = [wanted] if isinstance(wanted, str) else wanted
        return (hit[field] or "").lower() in {v.lower() for v in values}

    price_ok = (params.get("price_min") is None or hit["price"] >= params["price_min"]) and (
        params.get("price_max") is None or hit["price"] <= params["price_max"]
    )
    return price_ok and all(any_of(k, k) for k in ("brand", "category", "gender", "colour"))


def test_text_search_returns_products_with_every_field(client) -> None:
    r = client.get("/search", params={"q": "black sports shoes"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "hybrid" and body["hits"]
    for h in body["hits"]:
        assert {
            "id",
            "title",
            "brand",
            "price",
            "currency",
            "category",
            "gender",
            "colour",
            "photo_url",
            "score",
        } <= h.keys()
    photo = client.get(body["hits"][0]["photo_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"


def test_every_hit_satisfies_random_filters(client, catalogue) -> None:
    rows = catalogue["rows"]
    rng = random.Random(3)
    brands = sorted({r["brandName"] for r in rows})
    genders = sorted({r["gender"] for r in rows})
    for _ in range(40):
        params: dict = {
            "q": rng.choice(["shoes", "black sneakers", "giày thể thao nam", "heels"]),
            "limit": 50,
        }
        if rng.random() < 0.6:
            params["brand"] = rng.sample(brands, rng.randint(1, 3))
        if rng.random() < 0.4:
            params["gender"] = rng.choice(genders)
        if rng.random() < 0.5:
            params["price_max"] = rng.choice([1000, 3000, 6000])
        if rng.random() < 0.3:
            params["price_min"] = rng.choice([500, 2000])
            params["price_max"] = max(params.get("price_max", 0), params["price_min"] + 1000)
        body = client.get("/search", params=params).json()
        assert all(_satisfies(h, params) for h in body["hits"]), (params, body["hits"])


def test_filtered_search_finds_exactly_the_matching_products(client, catalogue) -> None:
    rows = [r for r in catalogue["rows"] if r["id"] != catalogue["broken"]["id"]]
    brand = rows[0]["brandName"]
    expected = {r["id"] for r in rows if r["brandName"] == brand and float(r["price"]) <= 5000}
    body = client.get(
        "/search",
        params={"q": "shoes", "brand": brand.upper(), "price_max": 5000, "limit": 100, "mode": "dense"},
    ).json()
    assert {h["source_id"] for h in body["hits"]} == expected


def test_photo_search_finds_the_same_product_first(client, catalogue) -> None:
    row = catalogue["rows"][0]
    data = (catalogue["feed"].parent / row["image"]).read_bytes()
    r = client.post("/search/image", files={"file": ("shoe.jpg", data, "image/jpeg")}, params={"limit": 5})
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["source_id"] == row["id"]


def test_photo_search_applies_filters(client, catalogue) -> None:
    row = catalogue["rows"][0]
    data = (catalogue["feed"].parent / row["image"]).read_bytes()
    params = {"gender": "women", "price_max": 4000, "limit": 50}
    hits = client.post("/search/image", files={"file": ("s.jpg", data)}, params=params).json()["hits"]
    assert all(_satisfies(h, params) for h in hits)


def test_product_detail_photo_and_similar(client) -> None:
    hit = client.get("/search", params={"q": "shoes", "limit": 1}).json()["hits"][0]
    detail = client.get(f"/products/{hit['id']}").json()
    assert detail["title"] == hit["title"] and "description" in detail
    similar = client.get(f"/products/{hit['id']}/similar", params={"limit": 10}).json()["hits"]
    assert similar and hit["id"] not in {h["id"] for h in similar}
    assert client.get("/products/999999").status_code == 404


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"q": "shoes", "price_min": 5000, "price_max": 100}, 422, "price_min"),
        ({"q": "shoes", "price_max": -3}, 422, "price_max"),
        ({"q": "shoes", "limit": 0}, 422, "limit"),
        ({"q": "shoes", "limit": "many"}, 422, "limit"),
        ({"q": "shoes", "gender": "robots"}, 422, "gender"),
        ({"q": "shoes", "mode": "telepathy"}, 422, "mode"),
        ({}, 422, "q"),
        ({"q": "   "}, 422, "q"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(client, params, status, fragment) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == status
    assert fragment in r.text


def test_unusable_uploads_are_rejected_with_a_reason(client) -> None:
    r = client.post("/search/image", files={"file": ("x.jpg", b"definitely not a photo")})
    assert r.status_code == 400 and "unusable photo" in r.json()["detail"]
    r = client.post("/search/image", files={"file": ("x.jpg", b"")})
    assert r.status_code == 400
    big = io.BytesIO()
    Image.new("RGB", (10, 10)).save(big, "PNG")
    huge = big.getvalue() + b"\0" * (11 * 1024 * 1024)
    assert client.post("/search/image", files={"file": ("x.png", huge)}).status_code == 413
    assert client.post("/search/image").status_code == 422


def test_ingest_job_errors_are_clear(client, tmp_path) -> None:
    r = client.post("/ingest/jobs", json={"feed": str(tmp_path / "missing.csv")})
    assert r.status_code == 400 and "not found" in r.json()["detail"]
    assert client.get("/ingest/jobs/424242").status_code == 404
    bad = tmp_path / "feed.jsonl"
    bad.write_text("{not json\n")
    r = client.post("/ingest/jobs", json={"feed": str(bad), "format": "xml"})
    assert r.status_code == 422


def test_healthz(client) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["products"] >= 49 and body["indexed_points"] >= 49


def test_query_intent_becomes_filters_and_can_be_overridden(client) -> None:
    body = client.get("/search", params={"q": "giày nữ dưới 3000", "limit": 50}).json()
    kinds = {(u["kind"], u["value"]) for u in body["understood"]}
    assert ("gender", "women") in kinds and ("price_max", 3000) in kinds
    assert body["filters"]["gender"] == ["women", "unisex"] and body["filters"]["price_max"] == 3000
    assert body["hits"] and all(
        h["gender"] in ("women", "unisex") and h["price"] <= 3000 for h in body["hits"]
    )

    # The caller's explicit filter wins over the understood one.
    body = client.get("/search", params={"q": "giay nu duoi 3000", "price_max": 9000, "limit": 50}).json()
    assert body["filters"]["price_max"] == 9000

    # Understood values can be switched off, one kind or all.
    body = client.get("/search", params={"q": "giày nữ dưới 3000", "ignore": "price_max"}).json()
    assert body["filters"]["price_max"] is None and body["filters"]["gender"] == ["women", "unisex"]
    body = client.get("/search", params={"q": "giày nữ dưới 3000", "understand": False}).json()
    assert body["understood"] == [] and body["filters"]["gender"] == []
    assert client.get("/search", params={"q": "x", "ignore": "mood"}).status_code == 422


def test_brand_names_from_the_catalogue_are_understood(client, catalogue) -> None:
    brand = catalogue["rows"][0]["brandName"]
    body = client.get("/search", params={"q": f"{brand.lower()} shoes", "limit": 50}).json()
    assert ("brand", brand) in {(u["kind"], u["value"]) for u in body["understood"]}
    assert body["hits"] and all(h["brand"] == brand for h in body["hits"])


def test_facets_count_the_filtered_catalogue(client, catalogue) -> None:
    from collections import Counter

    from sqlalchemy import select

    from catalog.models import Product
    from clipshoe.runtime import get_runtime

    with get_runtime().sessions() as s:  # ground truth: the catalogue rows (other tests add some)
        products = [p for p in s.scalars(select(Product)) if p.embedded_model]
    brand = catalogue["rows"][0]["brandName"]
    body = client.get("/search/facets", params={"brand": brand}).json()
    # Disjunctive: the brand facet ignores the brand filter itself, the others respect it.
    # A listing without a brand (another test's photo folder) counts under no brand.
    assert body["brand"] == dict(Counter(p.brand for p in products if p.brand))
    of_brand = [p for p in products if p.brand == brand]
    assert body["gender"] == dict(Counter(p.gender for p in of_brand))
    assert sum(b["count"] for b in body["price"]) == len(of_brand)
    assert body["currency"] == "INR"

    women = client.get("/search/facets", params={"q": "giày nữ"}).json()
    assert women["filters"]["gender"] == ["women", "unisex"]
    assert set(women["brand"]) <= set(body["brand"])


def test_hits_explain_which_signals_matched(client, catalogue) -> None:
    row = catalogue["rows"][0]
    hit = client.get("/search", params={"q": row["productDisplayName"], "limit": 1}).json()["hits"][0]
    why = hit["explanation"]
    assert why["photo"] is not None and why["title"] is not None
    assert why["title"] > 0.9  # the title query against its own title
    words = set(why["words"])
    assert {w.lower() for w in row["productDisplayName"].split()[:2]} <= words


def test_pages_are_stable_and_do_not_overlap(client) -> None:
    params = {"q": "shoes", "limit": 10}
    first = client.get("/search", params=params).json()["hits"]
    again = client.get("/search", params=params).json()["hits"]
    second = client.get("/search", params={**params, "offset": 10}).json()["hits"]
    assert [h["id"] for h in first] == [h["id"] for h in again]
    assert not {h["id"] for h in first} & {h["id"] for h in second}


def test_an_understood_category_boosts_without_filtering(client) -> None:
    params = {"q": "stilettos", "limit": 50}  # a synonym of heels that no title contains
    body = client.get("/search", params=params).json()
    assert ("category", "heels") in {(u["kind"], u["value"]) for u in body["understood"]}
    assert body["filters"]["category"] == []  # a boost, not a filter
    assert len({h["category"] for h in body["hits"]}) > 1
    plain = client.get("/search", params={**params, "ignore": "category"}).json()["hits"]

    def heel_scores(hits: list[dict]) -> dict[int, float]:
        return {h["id"]: h["score"] for h in hits if h["category"] == "heels"}

    boosted, unboosted = heel_scores(body["hits"]), heel_scores(plain)
    assert boosted and all(boosted[i] > unboosted.get(i, 0.0) for i in boosted)


def test_recommend_more_like_these_not_like_those(client, catalogue) -> None:
    hits = client.get("/search", params={"q": "shoes", "limit": 30, "understand": False}).json()["hits"]
    a, b = hits[0], hits[1]
    plain = client.get("/products/recommend", params={"positive": a["id"]}).json()["hits"]
    assert plain and a["id"] not in {h["id"] for h in plain}
    # Steering away from the best plain recommendation pushes it down (or out).
    top = plain[0]["id"]
    steered = client.get("/products/recommend", params={"positive": a["id"], "negative": top}).json()["hits"]
    assert top not in [h["id"] for h in steered]
    both = client.get("/products/recommend", params={"positive": [a["id"], b["id"]], "gender": a["gender"]})
    assert all(h["gender"] == a["gender"] for h in both.json()["hits"])
    assert client.get("/products/recommend", params={"positive": 999999}).status_code == 404
    assert client.get("/products/recommend").status_code == 422


def test_writes_need_an_api_key_once_one_exists(client, tmp_path) -> None:
    from catalog import repository
    from clipshoe.runtime import get_runtime

    rt = get_runtime()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    with rt.sessions.begin() as s:
        key = repository.create_api_key(s, "test")
    try:
        r = client.post("/ingest/jobs", json={"feed": str(feed)})
        assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
        r = client.post("/ingest/jobs", json={"feed": str(feed)}, headers={"X-API-Key": "cs_wrong"})
        assert r.status_code == 401
        r = client.post("/ingest/jobs", json={"feed": str(feed)}, headers={"X-API-Key": key})
        assert r.status_code == 202
        assert client.get("/search", params={"q": "shoes"}).status_code == 200  # reads stay open
    finally:
        with rt.sessions.begin() as s:
            repository.revoke_api_key(s, key[:10])
    with rt.sessions() as s:
        assert not repository.api_key_valid(s, key)
