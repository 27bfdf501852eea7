"""Dataset builder: products with photos only, the fixed split rule, captions in EN and VI."""

from __future__ import annotations

import json
from pathlib import Path

from encoder.training.dataset import build_dataset, read_manifest
from encoder.training.split import assign_splits
from ingest.sample import generate_sample_catalog


def test_manifest_rows_splits_and_captions(sample_dataset: Path) -> None:
    rows = list(read_manifest(sample_dataset))
    summary = json.loads((sample_dataset / "summary.json").read_text())
    assert len(rows) == summary["products"] == 160
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    expected = assign_splits((r["id"], r["sha256"]) for r in rows)
    assert all(r["split"] == expected[r["id"]] for r in rows)
    for row in rows:
        assert Path(row["image"]).is_file()
        assert {c["lang"] for c in row["captions"]} == {"en", "vi"}


def test_identical_photos_share_a_split_and_photoless_products_are_skipped(tmp_path: Path) -> None:
    csv = generate_sample_catalog(tmp_path / "cat", n=40, seed=1)
    images = tmp_path / "cat" / "images"
    ids = sorted(int(p.stem) for p in images.glob("*.jpg"))
    # every product after the first shows the first product's photo: one group, one split
    for pid in ids[1:20]:
        (images / f"{pid}.jpg").write_bytes((images / f"{ids[0]}.jpg").read_bytes())
    (images / f"{ids[-1]}.jpg").unlink()  # no photo: skipped
    (images / f"{ids[-2]}.jpg").write_bytes(b"not a jpeg")  # unreadable: skipped
    summary = build_dataset(csv, tmp_path / "ds")
    rows = {r["id"]: r for r in read_manifest(tmp_path / "ds")}
    assert summary["products"] == 38 and summary["skipped"]["unreadable photo"] == 2
    assert len({rows[str(pid)]["split"] for pid in ids[:20]}) == 1
