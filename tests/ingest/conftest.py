"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from catalog.db import session_factory
from catalog.repository import SqlImageRegistry


@pytest.fixture
def registry(database: None) -> Iterator[SqlImageRegistry]:
    """The real photos table, in a transaction rolled back after the test."""
    session = session_factory()()
    session.begin()
    try:
        yield SqlImageRegistry(session)
    finally:
        session.rollback()
        session.close()
