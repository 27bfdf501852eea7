"""`clipshoe dataset export`: the ingested catalogue as image–text pairs, read back from the tar
shards and the Parquet files, with a manifest that adds up."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from catalog.models import Product
from clipshoe.cli import app
from clipshoe.runtime import get_runtime
from encoder.training.split import assign_splits


def _export(out: Path, fmt: str, *extra: str) -> dict:
    result = CliRunner().invoke(
        app, ["dataset", "export", "--out", str(out), "--format", fmt, "--shard-size", "16", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


def _expected() -> tuple[int, dict[str, str]]:
    """Products with a stored photo, and their split as training computes it."""
    with get_runtime().sessions() as s:
        rows = s.execute(
            select(Product.source_id, Product.image_sha256, Product.point_id).where(
                Product.image_path.is_not(None)
            )
        ).all()
    splits = assign_splits((r.source_id, r.image_sha256) for r in rows)
    return len(rows), {r.point_id: splits[r.source_id] for r in rows}


def _check_manifest(out: Path, manifest: dict, count: int, splits: dict[str, str]) -> None:
    assert manifest["count"] == count == len(manifest["items"])
    assert {i["key"]: i["split"] for i in manifest["items"]} == splits
    assert manifest["splits"] == dict(Counter(splits.values()))
    assert sum(s["count"] for s in manifest["shards"]) == count
    for shard in manifest["shards"]:
        data = (out / shard["file"]).read_bytes()
        assert shard["sha256"] == hashlib.sha256(data).hexdigest() and shard["bytes"] == len(data)
        assert shard["file"].startswith(shard["split"] + "-") and shard["count"] <= 16
    assert manifest["captions"]["en"] > 0 and manifest["captions"]["vi"] > 0


def test_webdataset_shards_hold_photo_caption_and_metadata(catalogue, tmp_path) -> None:
    count, splits = _expected()
    assert count >= 49  # the session catalogue, with its corrupt photo left out at ingest
    manifest = _export(tmp_path, "webdataset")
    _check_manifest(tmp_path, manifest, count, splits)

    shard_of = {i["key"]: i["shard"] for i in manifest["items"]}
    sha_of = {i["key"]: i["image_sha256"] for i in manifest["items"]}
    seen = set()
    for shard in manifest["shards"]:
        with tarfile.open(tmp_path / shard["file"]) as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
        keys = {name.rsplit(".", 1)[0] for name in members}
        assert set(members) == {f"{k}.{ext}" for k in keys for ext in ("jpg", "json", "txt")}
        for key in keys:
            meta = json.loads(members[f"{key}.json"])
            caption = members[f"{key}.txt"].decode()
            assert meta["key"] == key and meta["split"] == shard["split"] == splits[key]
            assert shard_of[key] == shard["file"]
            assert caption in [c["text"] for c in meta["captions"]]
            # Vietnamese templates need a category and a colour, gender or brand beside it: the
            # session catalogue has them all; listings other tests add may have less.
            langs = {c["lang"] for c in meta["captions"]}
            if meta["source"] == "myntra":
                assert langs == ({"en", "vi"} if meta["category"] else {"en"})
            assert "en" in langs
            assert meta["captions"][0]["text"] == meta["title"]
            assert Image.open(io.BytesIO(members[f"{key}.jpg"])).format == "JPEG"
            assert hashlib.sha256(members[f"{key}.jpg"]).hexdigest() == sha_of[key]
            seen.add(key)
    assert seen == set(splits)

    again = _export(tmp_path / "again", "webdataset")  # same catalogue, same seed: same bytes
    assert [s["sha256"] for s in again["shards"]] == [s["sha256"] for s in manifest["shards"]]


def test_parquet_files_hold_the_same_pairs(catalogue, tmp_path) -> None:
    count, splits = _expected()
    manifest = _export(tmp_path, "parquet")
    _check_manifest(tmp_path, manifest, count, splits)
    tables = [pq.read_table(tmp_path / s["file"]) for s in manifest["shards"]]
    rows = [row for t in tables for row in t.to_pylist()]
    assert len(rows) == count
    assert {r["key"]: r["split"] for r in rows} == splits
    row = next(r for r in rows if r["source"] == "myntra")
    assert Image.open(io.BytesIO(row["image"])).size[0] > 0
    assert row["caption"] in [c["text"] for c in row["captions"]]
    assert {c["lang"] for c in row["captions"]} == {"en", "vi"}
    with get_runtime().sessions() as s:
        title = s.scalar(select(Product.title).where(Product.point_id == row["key"]))
    assert row["title"] == title


def test_export_refuses_a_folder_with_shards_and_an_unknown_format(catalogue, tmp_path) -> None:
    _export(tmp_path, "webdataset", "--source", "myntra")
    again = CliRunner().invoke(app, ["dataset", "export", "--out", str(tmp_path)])
    assert again.exit_code != 0 and "empty folder" in again.output
    bad = CliRunner().invoke(app, ["dataset", "export", "--out", str(tmp_path / "x"), "--format", "csv"])
    assert bad.exit_code != 0 and "webdataset" in bad.output
    with get_runtime().sessions() as s:
        myntra = s.scalar(
            select(func.count()).where(Product.source == "myntra", Product.image_path.is_not(None))
        )
    assert json.loads((tmp_path / "manifest.json").read_text())["count"] == myntra


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # typer's error box wraps long messages otherwise
