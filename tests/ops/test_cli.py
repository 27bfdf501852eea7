"""The operations commands, end to end on a scratch embedded stack (the process runtime is the
scratch one): reindex, models list, rollback, prune, doctor, backup, restore, and their errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

import clipshoe.runtime
from clipshoe.cli import app
from clipshoe.runtime import Runtime
from tests.ops.helpers import scratch_stack


@pytest.fixture
def stack(tmp_path: Path, tiny_models: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    with scratch_stack(tmp_path, tiny_models[0]) as rt:
        monkeypatch.setattr(clipshoe.runtime, "_runtime", rt)  # what get_runtime() hands the commands
        yield rt


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_operations_from_the_command_line(
    stack: Runtime, tiny_models: tuple[str, str], tmp_path: Path
) -> None:
    old = stack.live.get().version
    r = run("reindex", "--model", tiny_models[1])
    assert r.exit_code == 0, r.output
    assert "24 points for 24 products" in r.stdout and "alias now points at" in r.stdout
    new = stack.live.get().version
    assert new != old

    r = run("models", "list", "--json")
    listed = {m["version"]: (m["state"], m["points"]) for m in json.loads(r.stdout)}
    assert listed == {old: ("previous", 24), new: ("live", 24)}
    r = run("rollback")
    assert r.exit_code == 0 and f"{old} is live again" in r.stdout
    r = run("prune", "--include-previous")
    assert r.exit_code == 0 and "deleted 1 collection" in r.stdout
    r = run("rollback")  # nothing to roll back to any more: a clear error, exit 1
    assert r.exit_code == 1 and "no previous model version" in r.output
    r = run("doctor")
    assert r.exit_code == 0 and "clean" in r.stdout

    r = run("backup", str(tmp_path / "backup"))
    assert r.exit_code == 0 and "sqlite catalogue" in r.stdout
    shutil.rmtree(stack.settings.qdrant_path)
    r = run("restore", "--yes", "--no-sql", str(tmp_path / "backup"))
    assert r.exit_code == 0, r.output
    r = run("doctor", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["clean"] and json.loads(r.stdout)["points"] == 24

    r = run("restore", "--yes", str(tmp_path))  # a folder that is no backup
    assert r.exit_code == 1 and "not a ClipShoe backup" in r.output
