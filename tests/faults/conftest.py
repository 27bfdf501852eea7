"""Fixtures of the fault tests: a fresh stack of its own per test (tests/faults/stack.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import FaultStack, fault_stack


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultStack]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (the fault tests start a private one)")
    name = request.node.name.removeprefix("test_")[:24].replace("[", "_").replace("]", "").lower()
    with fault_stack(tmp_path, "".join(c if c.isalnum() else "_" for c in name)) as s:
        yield s
