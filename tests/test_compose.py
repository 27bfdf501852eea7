"""The compose stack validates for each profile and keeps the properties operations rely on
(Debian's docker-compose v1 validates without a Docker engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
CLUSTER = ROOT / "deploy" / "qdrant-cluster" / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SECRETS = ("POSTGRES_PASSWORD", "QDRANT_API_KEY", "FLOWER_BASIC_AUTH")
# The example leaves the secrets empty (a copied example must not start): the checks bring their own.
TEST_SECRETS = {"POSTGRES_PASSWORD": "test-pw", "QDRANT_API_KEY": "test-key", "FLOWER_BASIC_AUTH": "ops:test"}
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)


def compose(
    *args: str, env_file: Path | None = ENV_EXAMPLE, secrets: bool = True
) -> subprocess.CompletedProcess[str]:
    # Only the example env file and the test secrets: nothing from this machine's environment leaks in.
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | (TEST_SECRETS if secrets else {})
    cmd = ["docker-compose", *(["--env-file", str(env_file)] if env_file else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)


def resolved(*files: Path, profile: str | None = None) -> dict:
    args = [a for f in files for a in ("-f", str(f))] + (["--profile", profile] if profile else [])
    r = compose(*args, "config")
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)["services"]


@needs_compose
@pytest.mark.parametrize("profile", [None, "gpu", "monitoring"])
def test_compose_file_validates(profile: str | None) -> None:
    r = compose("-f", str(COMPOSE), *(["--profile", profile] if profile else []), "config", "-q")
    assert r.returncode == 0, r.stderr


@needs_compose
def test_qdrant_cluster_override_validates_and_forms_three_nodes() -> None:
    services = resolved(COMPOSE, CLUSTER, profile="gpu")
    nodes = [s for name, s in services.items() if name.startswith("qdrant")]
    assert len(nodes) == 3
    assert all(n["environment"]["QDRANT__CLUSTER__ENABLED"] == "true" for n in nodes)
    assert sum("--bootstrap" in n["command"] for n in nodes) == 2
    for app in ("api", "worker", "worker-gpu"):
        env = services[app]["environment"]
        assert (
            env["CLIPSHOE_QDRANT__SHARD_NUMBER"] == "6" and env["CLIPSHOE_QDRANT__REPLICATION_FACTOR"] == "2"
        )
        assert env["CLIPSHOE_QDRANT__WRITE_CONSISTENCY_FACTOR"] == "1"
    volumes = {v.split(":")[0] for n in nodes for v in n["volumes"]}
    assert len(volumes) == 3  # one named volume per node


@needs_compose
@pytest.mark.parametrize("env_file", [None, ENV_EXAMPLE], ids=["no .env", "example copied as is"])
def test_the_stack_refuses_to_start_without_its_secrets(env_file: Path | None) -> None:
    r = compose("-f", str(COMPOSE), "config", "-q", env_file=env_file, secrets=False)
    assert r.returncode != 0 and "set POSTGRES_PASSWORD" in r.stderr


def test_the_example_env_file_ships_no_secret() -> None:
    lines = [ln for ln in ENV_EXAMPLE.read_text().splitlines() if "=" in ln and not ln.startswith("#")]
    values = dict(ln.split("=", 1) for ln in lines)
    assert all(values[secret] == "" for secret in SECRETS), values


def test_every_worker_waits_for_the_api_which_migrates_the_database() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("worker", "worker-gpu"):
        assert "api" in services[name]["depends_on"], name


@needs_compose
def test_workers_scale_and_every_service_is_supervised() -> None:
    services = resolved(COMPOSE, profile="monitoring")
    for name in ("worker", "worker-gpu"):
        # --scale worker=N needs containers without fixed names or host ports.
        spec = yaml.safe_load(COMPOSE.read_text())["services"][name]
        assert "container_name" not in spec and "ports" not in spec
    for name, spec in services.items():
        assert spec.get("restart") == "unless-stopped", name
        assert "healthcheck" in spec, name
    gpu = yaml.safe_load(COMPOSE.read_text())["services"]["worker-gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


def test_state_lives_on_named_volumes() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    named = set(spec["volumes"])
    for service, path in (("postgres", "/var/lib/postgresql/data"), ("qdrant", "/qdrant/storage")):
        mounts = dict(v.split(":")[:2][::-1] for v in spec["services"][service]["volumes"])
        assert mounts[path] in named, service


def test_no_secret_is_written_into_the_compose_files() -> None:
    for f in (COMPOSE, CLUSTER):
        text = f.read_text()
        for secret in SECRETS:
            for line in (ln for ln in text.splitlines() if secret in ln and not ln.lstrip().startswith("#")):
                assert f"${{{secret}:?" in line, f"{f.name}: {secret} must come from the environment: {line}"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_prometheus_scrapes_the_api_and_every_worker() -> None:
    cfg = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert jobs["clipshoe-api"]["static_configs"][0]["targets"] == ["api:8000"]
    dns = jobs["clipshoe-worker"]["dns_sd_configs"][0]
    assert "worker" in dns["names"] and dns["port"] == 9808


def test_compose_names_the_five_services() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "redis", "qdrant", "api", "worker"} <= services.keys()
    assert services["qdrant"]["image"].startswith("qdrant/qdrant")
