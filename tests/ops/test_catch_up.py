"""Writes that land while a model version is built, or after it went live, are not lost: the
build catches up before its swap, and a rollback catches the old collection up before its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from catalog.models import Product
from clipshoe.runtime import Runtime
from tests.ops.helpers import scratch_stack
from workers import doctor, reindex


def text_cosine(rt: Runtime, product: Product, title: str) -> float:
    """How close the live collection's text vector of `product` is to a fresh encoding of `title`."""
    live = rt.live.get()
    [point] = rt.index.retrieve(live.collection, [product.point_id], with_vectors=True)
    return float(np.dot(point.vectors["text"], live.encoder.encode_texts([title])[0]))


def test_build_and_rollback_catch_up_with_changes(tmp_path: Path, tiny_models: tuple[str, str]) -> None:
    with scratch_stack(tmp_path, tiny_models[0]) as rt:
        old = rt.live.get()
        with rt.sessions() as s:
            first, second, third = s.scalars(select(Product).order_by(Product.id).limit(3)).all()
        new_title = "Bright orange trail running shoes"
        done_once: list[bool] = []

        def meanwhile(done: int, total: int) -> None:
            """An ingest elsewhere, after the backfill read the catalogue: one listing changes,
            one is withdrawn."""
            if done == total and not done_once:
                done_once.append(True)
                with rt.sessions.begin() as s:
                    row = s.get(Product, first.id)
                    assert row is not None
                    row.title, row.price = new_title, 123.0
                    s.delete(s.get(Product, second.id))

        report = reindex.build(rt, tiny_models[1], progress=meanwhile)
        assert done_once and report.swapped and report.caught_up >= 1
        assert report.points == report.products == 23
        new = rt.live.get()
        assert new.version == report.version != old.version
        assert text_cosine(rt, first, new_title) > 0.999
        assert rt.index.retrieve(new.collection, [first.point_id])[0].payload["price"] == 123.0
        assert second.point_id not in set(rt.index.scroll_ids(new.collection))
        assert doctor.check(rt).clean

        # While the new model is live, a title changes; the old collection never saw it.
        with rt.sessions.begin() as s:
            row = s.get(Product, third.id)
            assert row is not None
            row.title = "Navy canvas slip-on shoes"
        reindex.rollback(rt)
        assert rt.live.get().version == old.version
        assert text_cosine(rt, third, "Navy canvas slip-on shoes") > 0.999
        assert second.point_id not in set(rt.index.scroll_ids(old.collection))
        after = doctor.check(rt)
        assert after.clean, after.as_dict()
