"""Fault 5: the API fuzzed from its own OpenAPI spec (schemathesis) over the session's generated
catalogue: whatever the parameters and bodies the spec allows, or nearly allows, no request gets a
server error. A bounded number of examples per operation keeps it within CI time; a failure prints
the request that reproduces it.

The app is built when the module is collected (schemathesis' fixture-based loading relies on a
pytest internal that pytest 9 removed); it shares the process runtime, so it serves the catalogue
that the `catalogue` fixture ingests before the first example runs."""

from __future__ import annotations

import os

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app

# Per operation; FUZZ_EXAMPLES=500 for a deeper run by hand (docs/faults.md).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

# The admin operations rebuild, swap or delete the session's live collection: fuzzing them here
# would change what every later test searches. Their inputs are plain and checked in tests/ops/.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app()).exclude(
    method="POST", path_regex="^/admin/"
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,  # a search encodes its query on a shared CPU: no per-example time limit
    database=None,  # nothing written to .hypothesis/ in the working tree
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, catalogue: dict) -> None:
    case.call_and_validate(checks=[not_a_server_error])


def test_an_id_past_the_catalogues_integers_is_a_422(client: TestClient) -> None:
    """What the fuzzing found first: ids past 2**31 - 1 reached Postgres and came back as a 500."""
    big = 2**31
    for path in (f"/products/{big}", f"/ingest/jobs/{big}", f"/products/recommend?positive={big}"):
        r = client.get(path)
        assert r.status_code == 422 and "out of range" in r.json()["detail"], (path, r.text)
