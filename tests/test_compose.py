"""docker-compose.yml validates for each profile (Debian's docker-compose v1 needs no engine)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
@pytest.mark.parametrize("profile", [None, "gpu"])
def test_compose_file_validates(profile: str | None) -> None:
    args = ["docker-compose", "-f", str(ROOT / "docker-compose.yml")]
    if profile:
        args += ["--profile", profile]
    r = subprocess.run([*args, "config", "-q"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_compose_names_the_five_services() -> None:
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "redis", "qdrant", "api", "worker"} <= services.keys()
    assert services["qdrant"]["image"].startswith("qdrant/qdrant")
