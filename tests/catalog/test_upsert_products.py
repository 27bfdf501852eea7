"""A chunk of a feed is upserted in two statements; what changed still decides the work per listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import session_factory
from catalog.models import Base
from catalog.repository import Change, ListingRow, set_groups, upsert_products
from catalog.vector_index import point_id


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """The real catalogue (PostgreSQL, in a transaction rolled back after), or SQLite as in
    embedded mode."""
    if request.param == "postgresql":
        request.getfixturevalue("database")
        s = session_factory()()
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
        Base.metadata.create_all(engine)
        s = sessionmaker(engine)()
    s.begin()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def _row(source_id: str, **fields: Any) -> ListingRow:
    base = {"title": f"Runner {source_id}", "brand": "Testbrand", "price": 100.0, "currency": "VND"}
    return ("upsert-test", source_id, point_id("upsert-test", source_id), base | fields)


def test_new_listings_then_changes_in_one_chunk(session: Session) -> None:
    first = upsert_products(session, [_row("a"), _row("b"), _row("a", price=90.0)])
    assert [c for _, c in first] == [Change.new, Change.new, Change.payload]  # "a" twice: inserted, updated
    assert first[0][0] is first[2][0] and first[2][0].price == 90.0
    again = upsert_products(
        session,
        [
            _row("a", price=90.0),  # as stored
            _row("b", title="Runner B2"),  # the dense text changes
            _row("c"),
            _row("b", title="Runner B2", image_sha256="f" * 64),  # then its photo too
        ],
    )
    assert [c for _, c in again] == [Change.unchanged, Change.text, Change.new, Change.embed]
    b = again[1][0]
    assert b.title == "Runner B2" and b.image_sha256 == "f" * 64 and b.embedded_model is None
    assert len({p.id for p, _ in again}) == 3


def test_an_empty_chunk_costs_nothing(session: Session) -> None:
    assert upsert_products(session, []) == []


def test_groups_of_a_product_deleted_meanwhile_update_nothing(session: Session) -> None:
    """An embed batch sets the groups of the products it read; one deleted since is skipped."""
    (kept, _), (gone, _) = upsert_products(session, [_row("keep"), _row("gone")])
    gone_id = gone.id
    session.delete(gone)
    session.flush()
    set_groups(session, {kept.id: "group-a", gone_id: "group-b"})
    session.refresh(kept)
    assert kept.group_id == "group-a"
