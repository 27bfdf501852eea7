from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.feeds import FeedError, FeedFormatError, count_feed, detect_format, read_feed
from ingest.myntra import COLUMNS
from ingest.records import ProductRecord
from ingest.sample import generate_sample_catalog, write_jsonl_feed
from ingest.vocab import CATEGORIES, COLOURS, GENDERS


def _split(items: list[ProductRecord | FeedError]) -> tuple[list[ProductRecord], list[FeedError]]:
    return [r for r in items if isinstance(r, ProductRecord)], [e for e in items if isinstance(e, FeedError)]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_sample_catalog(tmp_path_factory.mktemp("catalog"), n=30, seed=3)


def test_sample_catalogue_reads_clean(catalog: Path) -> None:
    records, errors = _split(list(read_feed(catalog)))
    assert errors == []
    assert len(records) == 30
    for record in records:
        assert (record.source, record.currency) == ("myntra", "INR")
        assert record.category in CATEGORIES and record.gender in GENDERS and record.colour in COLOURS
        assert record.image and Path(record.image).is_absolute() and Path(record.image).is_file()
        assert record.price and 500 <= record.price <= 9100
    assert detect_format(catalog) == "myntra"
    assert [r.source_id for r in read_feed(catalog.parent)] == [r.source_id for r in records]


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(COLUMNS, "")
    row |= {"id": 1, "productDisplayName": "Enroute Women Red Heels", "brandName": "Enroute Women"}
    row |= {"price": 1999, "discountedPrice": 1499, "gender": "Women", "baseColour": "Red"}
    row |= {"articleType": "Heels", "image": "images/1.jpg", "articleAttributes": '{"Heel": "High"}'}
    return row | overrides


def test_myntra_rows_good_and_bad(tmp_path: Path) -> None:
    path = tmp_path / "styles.csv"
    rows = [
        _row(),
        _row(id=2, image="", price=0, discountedPrice=0, year="2012", usage="NA"),
        _row(id=3, productDisplayName="  "),
        _row(id=4, price="-5"),
        _row(id=5, baseColour="Plaid", articleAttributes="{not json"),
        _row(id=6),
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with path.open("ab") as handle:
        handle.write(b"7,Caf\xe9 Shoe,Bata,999,999,Men,Black,Footwear,Shoes,Casual Shoes" + b",," * 5 + b"\n")
        handle.write(b"8,Too short\n")
    records, errors = _split(list(read_feed(path)))
    assert [r.source_id for r in records] == ["1", "2", "5", "6"]
    first, second, fifth = records[0], records[1], records[2]
    assert (first.brand, first.gender, first.colour, first.category) == ("Enroute", "women", "red", "heels")
    assert first.image == str(tmp_path / "images" / "1.jpg")
    assert first.attributes["sale_price"] == 1499
    assert first.attributes["article_attributes"] == {"Heel": "High"}
    assert (second.image, second.price) == (None, None)
    assert second.attributes["year"] == 2012 and "usage" not in second.attributes
    assert fifth.colour is None and fifth.attributes["unmapped"] == {"colour": "Plaid"}
    assert fifth.attributes["article_attributes_raw"] == "{not json"
    reasons = {e.source_id: e.reason for e in errors}
    assert reasons["3"] == "missing field 'title'"
    assert reasons["4"].startswith("bad price: negative")
    assert reasons["7"] == "not valid UTF-8"
    assert reasons["8"].startswith("row has fewer columns")
    assert [e.line for e in errors] == [4, 5, 8, 9]
    assert count_feed(path) == len(records) + len(errors) == 8  # a job's total, rows not built


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"sku,name,price\n1,x,2\n", "not a Myntra styles.csv"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
    ],
)
def test_unreadable_feeds_raise_at_once(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "feed.csv"
    path.write_bytes(content)
    with pytest.raises(FeedFormatError, match=message):
        read_feed(path)
    with pytest.raises(FeedFormatError, match=message):
        count_feed(path)


def test_missing_file_folder_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(FeedFormatError, match="no such file"):
        read_feed(tmp_path / "nope.csv")
    with pytest.raises(FeedFormatError, match="holds no feed"):
        read_feed(tmp_path)
    (tmp_path / "x.jsonl").write_text("{}\n")
    with pytest.raises(FeedFormatError, match="unknown feed format"):
        read_feed(tmp_path / "x.jsonl", format="xml")


def test_jsonl_feed_each_bad_line_is_reported(tmp_path: Path) -> None:
    good = {"source": "shopee", "id": "sp-1", "name": "Giày thể thao nam Biti's", "brand": "bitis"}
    good |= {"price": "1.290.000₫", "gender": "Nam", "color": "Đen", "category": "Giày thể thao"}
    good |= {"image_url": "https://cf.shopee.vn/file/a.jpg", "shop": "bitis-official"}
    local = {"source_id": 17, "title": "Converse Chuck", "price": 0, "image": "images/17.jpg"}
    path = write_jsonl_feed(tmp_path, [good, local])
    with path.open("ab") as handle:
        handle.write(b'{"id": "broken", "title": \n')  # 3: broken JSON
        handle.write(b"\n")  # blank: skipped
        handle.write(b'{"id": "no-title"}\n')  # 5
        handle.write(b'{"title": "No id"}\n')  # 6
        handle.write(b'{"id": "neg", "title": "Negative", "price": -10}\n')  # 7
        handle.write(b'{"id": "bytes", "title": "Gi\xe0y"}\n')  # 8: Latin-1, not UTF-8
        handle.write(b'["a", "list"]\n')  # 9
        handle.write(b'{"id": "url", "title": "Bad url", "url": "shopee.vn/x"}\n')  # 10
        handle.write(b'{"id": "attr", "title": "Attr", "attributes": [1]}\n')  # 11
        handle.write(b'{"id": 12, "name": "Last one", "currency": "INR", "price": "\xe2\x82\xb9 2,499"}\n')
    records, errors = _split(list(read_feed(path)))
    assert [r.source_id for r in records] == ["sp-1", "17", "12"]
    shopee, converse, last = records
    assert (shopee.source, shopee.brand, shopee.price) == ("shopee", "Biti's", 1290000)
    assert shopee.currency == "VND"
    assert (shopee.gender, shopee.colour, shopee.category) == ("men", "black", "sports shoes")
    assert shopee.image == "https://cf.shopee.vn/file/a.jpg"
    assert shopee.attributes == {"shop": "bitis-official"}
    assert (converse.source, converse.price) == ("feed", None)
    assert converse.image == str(tmp_path / "images" / "17.jpg")
    assert (last.price, last.currency) == (2499, "INR")
    by_line = {e.line: e for e in errors}
    assert sorted(by_line) == [3, 5, 6, 7, 8, 9, 10, 11]
    assert by_line[3].reason.startswith("invalid JSON")
    assert by_line[5].reason == "missing field 'title'" and by_line[5].source_id == "no-title"
    assert by_line[6].reason == "missing field 'source_id'"
    assert by_line[7].reason.startswith("bad price: negative")
    assert by_line[8].reason.startswith("not valid UTF-8") and by_line[8].source_id == "bytes"
    assert by_line[9].reason == "expected a JSON object, got list"
    assert by_line[10].reason.startswith("url:")
    assert by_line[11].reason.startswith("bad value: attributes")
    assert count_feed(path) == len(records) + len(errors) == 11  # the blank line is no item


def test_jsonl_source_override_and_round_trip(tmp_path: Path) -> None:
    record = ProductRecord(source="tiki", source_id="t1", title="Dép tông nữ", price=99000, colour="pink")
    path = write_jsonl_feed(tmp_path, [record, {"id": "x", "title": "No source"}], name="items.ndjson")
    first, second = read_feed(path, source="lazada")
    assert isinstance(first, ProductRecord) and isinstance(second, ProductRecord)
    assert first.model_dump() == record.model_dump()
    assert second.source == "lazada"


def test_record_validation() -> None:
    with pytest.raises(ValueError, match="absolute path"):
        ProductRecord(source="s", source_id="1", title="t", image="images/1.jpg")
    with pytest.raises(ValueError, match="greater than or equal"):
        ProductRecord(source="s", source_id="1", title="t", price=-1)
    assert ProductRecord(source="s", source_id="1", title="t", brand="BITIS").brand_key == "bitis"


def test_summarise_feed(catalog: Path) -> None:
    from ingest.report import summarise_feed

    summary = summarise_feed(catalog, images=True)
    assert (summary["records"], summary["feed_errors"], summary["unmapped"]) == (30, 0, {})
    assert summary["images"] == {"ok": 30}
    assert summary["distinct"]["gender"] <= 5
