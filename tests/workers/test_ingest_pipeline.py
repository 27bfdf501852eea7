"""Ingest through the real worker: counts, per-item errors, idempotency."""

from __future__ import annotations

from sqlalchemy import func, select

from catalog.models import Product
from catalog.vector_index import SearchFilter
from clipshoe.runtime import get_runtime
from tests.integration import ingest


def _counts() -> tuple[int, int]:
    """Rows and points of the session catalogue (other tests add listings from other sources)."""
    rt = get_runtime()
    with rt.sessions() as s:
        rows = s.scalar(select(func.count()).select_from(Product).where(Product.source == "myntra"))
    return rows or 0, rt.index.count(rt.alias, SearchFilter(source=("myntra",)))


def test_job_lands_every_good_product_and_records_the_corrupt_photo(catalogue: dict) -> None:
    job = catalogue["job"]
    assert job["status"] == "completed"
    assert job["total"] == 50
    assert job["indexed"] == 49
    assert job["failed"] == 1
    assert job["batches_done"] == job["batches_total"] > 1  # split into several embed tasks
    [err] = job["errors"]
    assert err["source_id"] == catalogue["broken"]["id"]
    assert err["stage"] == "image"
    assert "corrupt" in err["reason"] or "truncated" in err["reason"] or "not an image" in err["reason"]
    assert _counts() == (49, 49)


def test_same_feed_twice_leaves_the_same_rows_and_points(client, catalogue: dict) -> None:
    before = _counts()
    job = ingest(client, catalogue["feed"])
    assert job["status"] == "completed"
    assert job["indexed"] == 0 and job["unchanged"] == 49 and job["failed"] == 1
    assert _counts() == before


def test_price_change_updates_payload_without_reembedding(client, catalogue: dict, tmp_path) -> None:
    import csv

    rows = catalogue["rows"]
    target = rows[3]
    feed = tmp_path / "styles.csv"
    with feed.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(target))
        w.writeheader()
        changed = {**target, "price": "123", "image": str(catalogue["feed"].parent / target["image"])}
        w.writerow(changed)
    job = ingest(client, feed)
    assert job["indexed"] == 0 and job["updated"] == 1
    assert job["images_encoded"] == job["texts_encoded"] == 0
    hits = client.get("/search", params={"q": target["productDisplayName"], "price_max": 130}).json()["hits"]
    assert [h["source_id"] for h in hits] == [target["id"]]
