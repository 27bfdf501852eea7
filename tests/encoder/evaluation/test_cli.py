"""`clipshoe eval` end to end on a generated catalogue, in-process, on a scratch embedded stack.

tests/conftest.py points CLIPSHOE_* at the real Postgres and Redis; the scratch settings must
ignore them, which the first test checks without any service running.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from clipshoe.cli import app
from clipshoe.commands.evaluation import EvalMode, scratch_settings
from encoder.evaluation.metrics import METRICS
from ingest.sample import generate_sample_catalog
from search.service import Mode


def test_scratch_settings_ignore_the_environment(tmp_path: Path) -> None:
    s = scratch_settings(tmp_path, "base")
    assert s.database_url.startswith("sqlite:///") and str(tmp_path) in s.database_url
    assert s.embedded and s.qdrant.url is None and s.qdrant_path == tmp_path / "qdrant"
    assert s.encoder.model == "base"
    assert [m.value for m in EvalMode] == [m.value for m in Mode]


def _catalogue(tmp_path: Path) -> tuple[Path, Path]:
    catalog = generate_sample_catalog(tmp_path / "cat", n=20)
    with catalog.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    first, second, third = rows[0], rows[1], rows[2]
    queries = [
        {"id": "title", "text": first["productDisplayName"], "relevant": [first["id"]]},
        # The photo's own listing is excluded, so the query asks for the other two.
        {
            "id": "photo",
            "image": f"cat/{first['image']}",
            "relevant": [second["id"], third["id"], first["id"]],
            "exclude": [first["id"]],
        },
        {
            "id": "filtered",
            "text": f"{second['articleType']}",
            "filters": {"brand": [second["brandName"].upper()], "price_max": 100000, "gender": ["nam", "nữ"]},
            "relevant": [second["id"]],
        },
    ]
    path = tmp_path / "queries.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries))
    return catalog, path


def test_eval_writes_the_contract_json_and_a_report(tmp_path: Path) -> None:
    catalog, queries = _catalogue(tmp_path)
    out, report, per_query = tmp_path / "out.json", tmp_path / "report", tmp_path / "per_query.jsonl"
    args = ["eval", "--catalog", str(catalog), "--queries", str(queries), "--model", "base"]
    result = CliRunner().invoke(
        app,
        [
            *args,
            "--mode",
            "hybrid",
            "--json",
            str(out),
            "--report",
            str(report),
            "--per-query",
            str(per_query),
        ],
    )
    assert result.exit_code == 0, result.output
    got = json.loads(out.read_text())
    assert isinstance(got, dict)
    assert {"model", "mode", "queries", "metrics"} <= set(got)
    assert (got["model"], got["mode"], got["queries"]) == ("base", "hybrid", 3)
    assert list(got["metrics"]) == list(METRICS)
    assert all(0.0 <= v <= 1.0 for v in got["metrics"].values())
    rows = [json.loads(line) for line in per_query.read_text().splitlines()]
    photo = next(r for r in rows if r["id"] == "photo")
    first_id = json.loads(queries.read_text().splitlines()[0])["relevant"][0]
    assert first_id not in photo["top10"]  # excluded from the ranking, not just from scoring
    assert rows[0]["top10"][0] == first_id  # its own title finds a listing first
    assert "| hybrid |" in (report / "report.md").read_text()
    assert (report / "acc_at_k.png").stat().st_size > 1000

    # Several modes in one run: one ingest, a list of contract objects.
    result = CliRunner().invoke(app, [*args, "--mode", "image", "--mode", "lexical", "--json", str(out)])
    assert result.exit_code == 0, result.output
    runs = json.loads(out.read_text())
    assert [r["mode"] for r in runs] == ["image", "lexical"]
    assert all(r["queries"] == 3 and list(r["metrics"]) == list(METRICS) for r in runs)

    # Saved results from separate runs merge into one report.
    merged = tmp_path / "merged"
    result = CliRunner().invoke(
        app, ["eval", "report", str(out), str(report / "results.json"), "--out", str(merged)]
    )
    assert result.exit_code == 0, result.output
    table = (merged / "report.md").read_text()
    assert table.count("| queries | base |") == 3  # hybrid, image, lexical rows
    assert (merged / "acc_at_k.png").is_file()
