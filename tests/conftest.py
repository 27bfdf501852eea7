"""Test session set-up: the real Postgres and Redis, an embedded vector store in a temp folder.

Settings are read from the environment once per process, so they are set here, before any
project module is imported. Override the services with CLIPSHOE_TEST_DATABASE_URL and
CLIPSHOE_TEST_REDIS_URL.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

_DATA_DIR = Path(tempfile.mkdtemp(prefix="clipshoe-test-"))
os.environ["CLIPSHOE_DATA_DIR"] = str(_DATA_DIR)
os.environ["CLIPSHOE_DATABASE__URL"] = os.environ.get(
    "CLIPSHOE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
os.environ["CLIPSHOE_BROKER__URL"] = os.environ.get("CLIPSHOE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["CLIPSHOE_INGEST__BATCH_SIZE"] = "16"
# Tests POST feeds they write under the temp folder (pytest's tmp_path too), and serve photos from
# local HTTP servers; tests/api/test_feed_roots.py and tests/ingest/test_fetch_guard.py narrow these.
os.environ["CLIPSHOE_INGEST__FEED_ROOTS"] = json.dumps([tempfile.gettempdir()])
os.environ["CLIPSHOE_INGEST__ALLOW_PRIVATE_URLS"] = "true"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _DATA_DIR


# The real stack's fixtures (database, broker, worker, client, catalogue), registered once
# for the whole session so a session fixture is never instantiated twice.
pytest_plugins = ["tests.integration"]
