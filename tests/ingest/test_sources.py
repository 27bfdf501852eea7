"""The CSV, image-folder and UT Zappos50K readers, on miniatures generated here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ingest.feeds import FeedError, FeedFormatError, count_feed, detect_format, read_feed
from ingest.myntra import COLUMNS
from ingest.records import ProductRecord
from tests.utils import images as factory


def _split(items: object) -> tuple[list[ProductRecord], list[FeedError]]:
    items = list(items)  # type: ignore[call-overload]
    return [r for r in items if isinstance(r, ProductRecord)], [e for e in items if isinstance(e, FeedError)]


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_feed_has_the_jsonl_fields_as_columns(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "1.jpg").write_bytes(factory.jpeg_bytes())
    path = tmp_path / "shop.csv"
    path.write_bytes(
        "ID;Name;Brand;Price;Color;Category;Gender;image_url;shop;attributes\n"
        "1;Giày thể thao nam Biti's Hunter;bitis hunter;1.290.000₫;Đen;giày thể thao;Nam;img/1.jpg;biti-vn;"
        '"{""size"": [40, 41]}"\n'
        "2;Dép xỏ ngón;;250k;xanh navy;dép tông;nữ;https://cdn.example.vn/2.jpg;;\n"
        "\n"
        "3;;Vans;100000;;;;;;\n"
        "4;Free shoe;Vans;-1;;;;;;\n"
        "5;Broken attributes;Vans;;;;;;;{not json\n"
        "6;Too;few\n".encode()
        + b"7;Gi\xe0y l\xf4i;Bata;100000;;;;;;\n"
    )
    assert detect_format(path) == "csv"
    records, errors = _split(read_feed(path))
    first, second = records
    assert (first.source, first.source_id, first.brand, first.price, first.currency) == (
        "feed", "1", "Biti's Hunter", 1_290_000, "VND",
    )  # fmt: skip
    assert (first.colour, first.category, first.gender) == ("black", "sports shoes", "men")
    assert first.image == str(tmp_path / "img" / "1.jpg")
    assert first.attributes == {"shop": "biti-vn", "size": [40, 41]}
    assert (second.price, second.colour, second.category, second.gender) == (
        250_000,
        "navy blue",
        "flip flops",
        "women",
    )
    assert second.image == "https://cdn.example.vn/2.jpg" and second.brand is None
    reasons = {e.source_id: (e.line, e.reason) for e in errors}
    assert reasons["3"] == (5, "missing field 'title'")
    assert reasons["4"][1].startswith("bad price: negative")
    assert reasons["5"][1].startswith("bad value: attributes: not JSON")
    assert reasons["6"][1] == "row has fewer columns than the header (10)"
    assert reasons["7"][1] == "not valid UTF-8"
    assert [r.source_id for r in read_feed(path, source="shopee")][:2] == ["1", "2"]
    assert count_feed(path) == len(records) + len(errors) == 7  # the blank line is no item
    assert {r.source for r in records} == {"feed"}


def test_csv_format_still_reads_a_styles_csv_and_refuses_a_foreign_header(tmp_path: Path) -> None:
    styles = tmp_path / "styles.csv"
    with styles.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        row = dict.fromkeys(COLUMNS, "") | {
            "id": 9,
            "productDisplayName": "Bata Men Black Shoes",
            "price": 999,
        }
        writer.writerow(
            row | {"brandName": "Bata", "gender": "Men", "baseColour": "Black", "articleType": "Heels"}
        )
    [record] = read_feed(styles, format="csv")
    assert (record.source, record.currency) == ("myntra", "INR")
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("sku,label,cost\n1,x,2\n")
    with pytest.raises(FeedFormatError, match="nor a ClipShoe CSV feed"):
        read_feed(foreign)
    with pytest.raises(FeedFormatError, match="needs an id and a title column"):
        read_feed(foreign, format="csv")


# --- image folders ---------------------------------------------------------------------------------


def _folder(root: Path) -> Path:
    (root / "sneakers" / ".cache").mkdir(parents=True)
    (root / "sneakers" / "air-max-90.jpg").write_bytes(factory.jpeg_bytes())
    sidecar = {"title": "Nike Air Max 90", "brand": "Nike", "price": "3.290.000 ₫", "colour": "trắng"}
    sidecar |= {"image": "elsewhere.jpg", "shop": "nike-vn"}
    (root / "sneakers" / "air-max-90.json").write_text(json.dumps(sidecar), encoding="utf-8")
    (root / "hunter.PNG").write_bytes(factory.png_bytes())
    (root / "hunter.txt").write_text(
        "Biti's Hunter Street\nbrand: Biti's\nprice: 899000\ncolor: xám\n"
        "Lightweight knit upper.\nRubber sole.\n",
        encoding="utf-8",
    )
    (root / "sneakers" / ".cache" / "x.jpg").write_bytes(factory.jpeg_bytes())  # hidden: skipped
    (root / "no-sidecar.jpg").write_bytes(factory.jpeg_bytes())
    (root / "broken.jpg").write_bytes(factory.jpeg_bytes())
    (root / "broken.json").write_text('{"title": "Broken', encoding="utf-8")
    (root / "latin1.webp").write_bytes(factory.image_bytes("WEBP"))
    (root / "latin1.txt").write_bytes(b"Gi\xe0y l\xf4i\n")
    (root / "list.gif").write_bytes(factory.palette_gif())
    (root / "list.json").write_text('["not", "an", "object"]', encoding="utf-8")
    (root / "orphan.json").write_text('{"title": "A sidecar alone"}', encoding="utf-8")
    return root


def test_image_folder_reads_sidecars_and_reports_what_it_cannot(tmp_path: Path) -> None:
    root = _folder(tmp_path / "photos")
    assert detect_format(root) == "folder"
    records, errors = _split(read_feed(root))
    assert count_feed(root) == len(records) + len(errors)
    hunter, air = sorted(records, key=lambda r: r.source_id)
    assert (air.source, air.source_id, air.title, air.price, air.colour) == (
        "folder", "sneakers/air-max-90", "Nike Air Max 90", 3_290_000, "white",
    )  # fmt: skip
    assert air.image == str(root / "sneakers" / "air-max-90.jpg")  # the photo beside it, not "elsewhere"
    assert air.attributes == {"shop": "nike-vn"}
    assert (hunter.source_id, hunter.title, hunter.brand, hunter.price, hunter.colour) == (
        "hunter", "Biti's Hunter Street", "Biti's", 899_000, "grey",
    )  # fmt: skip
    assert hunter.description == "Lightweight knit upper. Rubber sole."
    reasons = sorted(e.reason for e in errors)
    assert any(r.startswith("broken.json: invalid JSON") for r in reasons)
    assert any(r.startswith("latin1.txt: not valid UTF-8") for r in reasons)
    assert any(r.startswith("list.json: expected a JSON object, got list") for r in reasons)
    assert any(r.startswith("no-sidecar.jpg: no sidecar") for r in reasons)
    assert any(r.startswith("orphan.json: sidecar without a photo") for r in reasons)
    assert len(errors) == 5 and len(records) == 2


def test_image_folder_sidecar_can_name_the_listing(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(factory.jpeg_bytes())
    (tmp_path / "a.json").write_text('{"id": "sku-1", "name": "Converse Chuck 70", "source": "tiki"}')
    [record] = read_feed(tmp_path, format="folder", source="ignored")
    assert (record.source, record.source_id, record.title) == ("tiki", "sku-1", "Converse Chuck 70")
    with pytest.raises(FeedFormatError, match="reads a folder"):
        read_feed(tmp_path / "a.jpg", format="folder")


# --- UT Zappos50K -------------------------------------------------------------------------------


META = ["CID", "Category", "SubCategory", "HeelHeight", "Insole", "Closure", "Gender", "Material", "ToeStyle"]


def _zappos(root: Path, nested: bool = False) -> Path:
    images = root / "ut-zap50k-images"
    if nested:
        images = images / "ut-zap50k-images"
    photos = {
        "Shoes/Oxfords/Clarks/7965307.5291.jpg": factory.jpeg_bytes(),
        "Shoes/Loafers/Clarks/7965307.5291.jpg": factory.jpeg_bytes(),  # the same CID, listed twice
        "Boots/Ankle/Timberland/8011235.3.jpg": factory.jpeg_bytes(),
        "Sandals/Athletic/Teva/7500001.72.jpg": factory.jpeg_bytes(),
        "Shoes/Sneakers and Athletic Shoes/Nike/8100000.1.jpg": factory.jpeg_bytes(),
        "Slippers/Slipper Flats/UGG/8200000.9.jpg": factory.jpeg_bytes(),
        "Shoes/Oxfords/misplaced.jpg": factory.jpeg_bytes(),
    }
    for rel, data in photos.items():
        (images / rel).parent.mkdir(parents=True, exist_ok=True)
        (images / rel).write_bytes(data)
    square = root / "ut-zap50k-images-square" / "Shoes" / "Oxfords" / "Clarks"
    square.mkdir(parents=True)
    (square / "7965307.5291.jpg").write_bytes(factory.jpeg_bytes((40, 40)))
    (root / "ut-zap50k-data").mkdir()
    with (root / "ut-zap50k-data" / "meta-data.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(META)
        writer.writerow(
            ["7965307-5291", "Shoes", "Oxfords", "", "Padded", "Lace up", "Men", "Leather", "Wingtip"]
        )
        writer.writerow(["8011235-3", "Boots", "Ankle", "1in - 1 3/4in", "", "Zipper;Lace up", "Men;Women",
                         "Leather;Rubber", "Round Toe"])  # fmt: skip
        writer.writerow(
            ["7500001-72", "Sandals", "Athletic", "", "", "Hook and Loop", "Boys;Girls", "Synthetic", ""]
        )
        writer.writerow(
            ["8100000-1", "Shoes", "Sneakers and Athletic Shoes", "", "", "", "Women", "Mesh", ""]
        )
    return root


def test_zappos_layout_maps_folders_and_metadata(tmp_path: Path) -> None:
    root = _zappos(tmp_path / "zappos")
    assert detect_format(root) == "zappos50k"
    records, errors = _split(read_feed(root))
    assert count_feed(root) == len(records) + len(errors)
    by_id = {r.source_id: r for r in records}
    assert set(by_id) == {"7965307-5291", "8011235-3", "7500001-72", "8100000-1", "8200000-9"}
    oxford = by_id["7965307-5291"]
    assert (oxford.source, oxford.brand, oxford.category, oxford.gender) == (
        "zappos50k",
        "Clarks",
        "formal shoes",
        "men",
    )
    assert oxford.title == "Clarks Oxfords for Men, leather"
    assert oxford.image == str(
        root / "ut-zap50k-images" / "Shoes" / "Oxfords" / "Clarks" / "7965307.5291.jpg"
    )
    assert oxford.attributes["also_under"] == ["Shoes/Loafers"]
    assert oxford.attributes["closure"] == ["Lace up"] and oxford.attributes["toe_style"] == ["Wingtip"]
    assert (oxford.price, oxford.currency, oxford.colour) == (None, "USD", None)
    boot = by_id["8011235-3"]
    assert (boot.category, boot.gender, boot.attributes["material"]) == (
        "boots",
        "unisex",
        ["Leather", "Rubber"],
    )
    assert boot.attributes["heel_height"] == ["1in - 1 3/4in"] and boot.attributes["closure"] == [
        "Zipper",
        "Lace up",
    ]
    assert (by_id["7500001-72"].category, by_id["7500001-72"].gender) == ("sports sandals", "unisex")
    assert by_id["8100000-1"].category == "sneakers"
    slipper = by_id["8200000-9"]  # no metadata row: folders alone
    assert (slipper.category, slipper.brand, slipper.gender, slipper.title) == (
        "slippers",
        "UGG",
        None,
        "UGG Slipper Flats",
    )
    [error] = errors
    assert (
        error.source_id == "misplaced" and "not at <Category>/<SubCategory>/<Brand>/<CID>.jpg" in error.reason
    )


def test_zappos_found_from_its_images_folder_or_a_nested_unpack(tmp_path: Path) -> None:
    nested = _zappos(tmp_path / "nested", nested=True)
    assert len(_split(read_feed(nested))[0]) == 5
    square = tmp_path / "nested" / "ut-zap50k-images-square"
    [record] = _split(read_feed(square, format="zappos50k"))[0]  # the square copies
    assert record.source_id == "7965307-5291" and record.image.endswith(
        "ut-zap50k-images-square/Shoes/Oxfords/Clarks/7965307.5291.jpg"
    )
    with pytest.raises(FeedFormatError, match="not the UT Zappos50K layout"):
        read_feed(tmp_path, format="zappos50k")
