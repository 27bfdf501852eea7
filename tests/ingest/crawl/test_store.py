"""The crawl folder's commit protocol: what a killed run leaves behind is rolled back on open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.crawl import CrawlFolderError, CrawlStore, load_report
from ingest.crawl.store import CHECKPOINT, ERRORS, PRODUCTS
from ingest.records import ProductRecord


def record(source_id: str, title: str = "Giày thể thao nữ") -> ProductRecord:
    return ProductRecord(source="tiki", source_id=source_id, title=title, price=500_000)


def lines(folder: Path, name: str = PRODUCTS) -> list[dict]:
    return [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]


def test_commits_append_deduplicate_and_checkpoint(tmp_path: Path) -> None:
    with CrawlStore.open(tmp_path) as store:
        store.streams["s"] = {"site": "tiki", "next_page": 1, "max_pages": 2}
        assert store.commit([record("1"), record("2")], [], ("s", {"next_page": 2}), {"pages": 1}) == (2, 0)
        error = {"kind": "item", "reason": "missing field 'title'"}
        written = store.commit([record("2"), record("3")], [error], ("s", {"next_page": 3}), {"pages": 1})
        assert written == (1, 1)
    assert [r["source_id"] for r in lines(tmp_path)] == ["1", "2", "3"]
    assert lines(tmp_path)[0]["attributes"]["crawled_at"]
    assert [e["reason"] for e in lines(tmp_path, ERRORS)] == ["missing field 'title'"]
    report = load_report(tmp_path).as_dict()
    assert (report["pages"], report["products"], report["duplicates"]) == (2, 3, 1)
    assert report["streams"][0]["next_page"] == 3 and report["complete"]


def test_an_uncommitted_tail_is_cut_off_on_open(tmp_path: Path) -> None:
    """A run killed after writing a page but before its checkpoint: that page will be fetched
    again, so its lines (the last one half written) must go, and their ids must not count as seen."""
    with CrawlStore.open(tmp_path) as store:
        store.commit([record("1")], [], None, {})
    with (tmp_path / PRODUCTS).open("ab") as products:
        products.write(json.dumps(record("2").model_dump()).encode() + b"\n")
        products.write(b'{"source": "tiki", "source_id": "3", "title": "Gi')
    with (tmp_path / ERRORS).open("ab") as errors:
        errors.write(b'{"kind": "item", "rea')
    with CrawlStore.open(tmp_path) as store:
        assert store.seen == {("tiki", "1")}
        assert store.commit([record("2"), record("3")], [], None, {}) == (2, 0)
    assert [r["source_id"] for r in lines(tmp_path)] == ["1", "2", "3"]
    assert (tmp_path / ERRORS).read_bytes() == b""


def test_a_new_folder_is_checkpointed_before_anything_is_written(tmp_path: Path) -> None:
    with CrawlStore.open(tmp_path / "new"):
        assert (tmp_path / "new" / CHECKPOINT).exists()


def test_a_folder_with_a_feed_but_no_checkpoint_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / PRODUCTS).write_text('{"source_id": "1", "title": "mine"}\n')
    with pytest.raises(CrawlFolderError, match="not a crawl folder"):
        CrawlStore(tmp_path)
    assert (tmp_path / PRODUCTS).read_text() == '{"source_id": "1", "title": "mine"}\n'


def test_one_crawl_at_a_time_per_folder(tmp_path: Path) -> None:
    with CrawlStore.open(tmp_path), pytest.raises(CrawlFolderError, match="another crawl"):
        CrawlStore(tmp_path)
    with CrawlStore.open(tmp_path):
        pass  # released on close


def test_a_feed_shortened_behind_the_crawlers_back_is_reported(tmp_path: Path) -> None:
    with CrawlStore.open(tmp_path) as store:
        store.commit([record("1"), record("2")], [], None, {})
    (tmp_path / PRODUCTS).write_text("")
    with pytest.raises(CrawlFolderError, match="were committed"):
        CrawlStore(tmp_path)


def test_report_of_a_folder_without_a_crawl(tmp_path: Path) -> None:
    with pytest.raises(CrawlFolderError, match="no crawl here"):
        load_report(tmp_path)
    (tmp_path / CHECKPOINT).write_text("{not json")
    with pytest.raises(CrawlFolderError, match="unreadable checkpoint"):
        load_report(tmp_path)
