from __future__ import annotations

import pytest

from tests.ingest.marketplaces.pages import FIXTURE_FILES


@pytest.fixture(params=sorted(FIXTURE_FILES))
def site(request: pytest.FixtureRequest) -> str:
    """Each marketplace with a fixture page."""
    return request.param
