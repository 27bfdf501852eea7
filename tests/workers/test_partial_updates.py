"""Partial updates: a price, stock or attribute change touches Postgres and the point's payload and
calls no encoder; a title change re-embeds the text only and keeps the photo's vector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from catalog.models import Product
from catalog.vector_index import PointData
from clipshoe.runtime import get_runtime
from ingest.sample import write_jsonl_feed
from tests.integration import ingest
from tests.workers.helpers import noise_jpeg

SOURCE = "partial"


def _feed(folder: Path, **changes: dict) -> Path:
    rows = []
    for i in range(2):
        photo = folder / f"p{i}.jpg"
        if not photo.exists():
            photo.write_bytes(noise_jpeg(500 + i))
        row = {
            "source": SOURCE,
            "source_id": f"p{i}",
            "title": f"Trail runner number {i}",
            "brand": "Testbrand",
            "colour": "black",
            "category": "sports shoes",
            "price": 1000 + i,
            "stock": 5,
            "image": str(photo),
        }
        rows.append(row | changes.get(f"p{i}", {}))
    return write_jsonl_feed(folder, rows, name=f"feed-{len(list(folder.glob('feed-*')))}.jsonl")


def _state(source_id: str) -> tuple[Product, PointData]:
    rt = get_runtime()
    with rt.sessions() as s:
        product = s.scalars(
            select(Product).where(Product.source == SOURCE, Product.source_id == source_id)
        ).one()
        s.expunge(product)
    [point] = rt.index.retrieve(rt.alias, [product.point_id], with_vectors=True)
    return product, point


def test_updates_redo_only_what_changed(client, tmp_path) -> None:
    job = ingest(client, _feed(tmp_path))
    assert (job["indexed"], job["images_encoded"], job["texts_encoded"]) == (2, 2, 2)
    p0, before = _state("p0")
    _, before1 = _state("p1")
    assert before.payload["stock"] == 5

    # Price and stock of one listing, colour of the other: payload (and the lexical vector for the
    # colour), no encoder call, nothing re-embedded.
    job = ingest(client, _feed(tmp_path, p0={"price": 777, "stock": 0}, p1={"colour": "white"}))
    assert (job["indexed"], job["updated"], job["unchanged"]) == (0, 2, 0)
    assert job["images_encoded"] == job["texts_encoded"] == 0
    row, point = _state("p0")
    assert (row.price, row.stock) == (777, 0)
    assert point.payload["price"] == 777 and point.payload["stock"] == 0
    assert row.embedded_at == p0.embedded_at
    np.testing.assert_array_equal(point.vectors["image"], before.vectors["image"])
    np.testing.assert_array_equal(point.vectors["text"], before.vectors["text"])
    row1, point1 = _state("p1")
    assert row1.colour == "white" and point1.payload["colour"] == "white"
    assert point1.sparse.indices != before1.sparse.indices  # "white"/"trắng" are searchable now
    np.testing.assert_array_equal(point1.vectors["image"], before1.vectors["image"])
    params = {"q": "Trail runner", "colour": "white", "mode": "lexical", "understand": False}
    found = [h["source_id"] for h in client.get("/search", params=params).json()["hits"]]
    assert "p1" in found and "p0" not in found  # the colour filter reads the new payload

    # A new title: one text encoded, no photo; the photo vector is the very same.
    title = "Mountain sprinter deluxe"
    renamed = {"price": 777, "stock": 0, "title": title}
    job = ingest(client, _feed(tmp_path, p0=renamed, p1={"colour": "white"}))
    assert (job["indexed"], job["updated"], job["unchanged"]) == (0, 1, 1)
    assert (job["images_encoded"], job["texts_encoded"]) == (0, 1)
    row, after = _state("p0")
    assert row.title == title and row.embedded_at > p0.embedded_at
    np.testing.assert_array_equal(after.vectors["image"], before.vectors["image"])
    assert not np.allclose(after.vectors["text"], before.vectors["text"])
    assert after.payload["price"] == 777  # the payload came along
    np.testing.assert_allclose(
        after.vectors["text"], get_runtime().encoder.encode_texts([title])[0], atol=1e-5
    )

    # A new photo: embedded in full.
    (tmp_path / "p0-new.jpg").write_bytes(noise_jpeg(999))
    new_photo = renamed | {"image": str(tmp_path / "p0-new.jpg")}
    job = ingest(client, _feed(tmp_path, p0=new_photo, p1={"colour": "white"}))
    assert (job["indexed"], job["images_encoded"], job["texts_encoded"]) == (1, 1, 1)
    _, last = _state("p0")
    assert not np.allclose(last.vectors["image"], before.vectors["image"])
