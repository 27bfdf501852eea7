"""The same shoe from several sellers is found at ingest and shown once, with its offers."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ingest.sample import write_jsonl_feed
from tests.integration import ingest


def _reencode(src: Path, dst: Path) -> Path:
    # A near-duplicate: the same photo, resized and recompressed by another seller.
    img = Image.open(src).convert("RGB")
    img = img.resize((img.width * 2, img.height * 2), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    dst.write_bytes(buf.getvalue())
    return dst


def test_duplicate_listings_are_grouped_with_their_offers(client, catalogue, tmp_path) -> None:
    row = catalogue["rows"][2]
    photo = catalogue["feed"].parent / row["image"]
    base = {
        "title": row["productDisplayName"],
        "brand": row["brandName"],
        "category": row["articleType"],
        "gender": row["gender"],
        "colour": row["baseColour"],
        "currency": "INR",
    }
    sellers = [
        {**base, "source": "shopee", "source_id": "s1", "price": 1000, "image": str(photo)},
        {**base, "source": "tiki", "source_id": "t1", "price": 1500, "image": str(photo)},
        {
            **base,
            "source": "lazada",
            "source_id": "l1",
            "price": 1200,
            "image": str(_reencode(photo, tmp_path / "near.jpg")),
        },
        # Same photo, another brand: a different product, not grouped.
        {**base, "source": "sendo", "source_id": "d1", "price": 900, "brand": "Zzyzx", "image": str(photo)},
    ]
    job = ingest(client, write_jsonl_feed(tmp_path, sellers))
    assert job["status"] == "completed" and job["indexed"] == 4, job

    hits = client.get(
        "/search", params={"q": row["productDisplayName"], "limit": 20, "understand": False}
    ).json()["hits"]
    same = [h for h in hits if h["title"] == row["productDisplayName"] and h["brand"] == row["brandName"]]
    assert len(same) == 1, same  # the original listing and its three copies collapse to one hit
    assert same[0]["offers"] == 4
    assert same[0]["offers_price_min"] == 1000 and same[0]["offers_price_max"] == max(
        1500, float(row["price"])
    )
    assert any(h["brand"] == "Zzyzx" for h in hits)

    flat = client.get(
        "/search", params={"q": row["productDisplayName"], "limit": 20, "group": False, "understand": False}
    ).json()
    assert (
        sum(h["title"] == row["productDisplayName"] and h["brand"] == row["brandName"] for h in flat["hits"])
        == 4
    )
