"""Query files and the query-set builder: wording maps back to the catalogue's vocabulary, output is
deterministic, and every file reads back under the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encoder.evaluation import phrasing
from encoder.evaluation.queries import build_query_sets
from encoder.evaluation.query_file import QueryFileError, read_queries
from ingest.feeds import read_feed
from ingest.normalise import fold_diacritics, normalise_category, normalise_colour, normalise_gender
from ingest.sample import generate_sample_catalog

# Vietnamese has no word of its own for sports sandals; the vocabulary reads it as sandals.
KNOWN_COARSER = {("sports sandals", "sandals")}


def test_every_wording_maps_back_to_its_value() -> None:
    for table in (phrasing.TYPE_EN, phrasing.TYPE_VI):
        for value, words in table.items():
            for word in words:
                got = normalise_category(word)
                assert got == value or (value, got) in KNOWN_COARSER, (word, got)
    for value, word in phrasing.COLOUR_VI.items():
        assert normalise_colour(word) == value, word
    for value, word in phrasing.COLOUR_EN.items():
        assert normalise_colour(word) == value, word
    for value, word in phrasing.GENDER_VI.items():
        assert normalise_gender(word) == value, word


def test_query_file_reads_contract_lines(tmp_path: Path) -> None:
    path = tmp_path / "q" / "set.jsonl"
    path.parent.mkdir()
    lines = [
        {"id": "q1", "text": "giày thể thao nam màu đen", "relevant": ["1541", 3150]},
        {"id": "q2", "image": "images/1541.jpg", "relevant": ["3150"], "exclude": ["1541"]},
        {
            "id": "q3",
            "text": "black heels",
            "filters": {"brand": "Catwalk", "price_max": 2000},
            "relevant": ["1"],
        },
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n")
    q1, q2, q3 = read_queries(path)
    assert q1.relevant == ("1541", "3150")  # numbers become the string ids the catalogue uses
    assert q2.image == (path.parent / "images" / "1541.jpg").resolve() and q2.text is None
    assert q3.relevant == ("1",)
    assert q3.filters == {"brand": ["Catwalk"], "price_max": 2000}


@pytest.mark.parametrize(
    "line",
    [
        {"id": "x", "relevant": ["1"]},  # neither text nor image
        {"id": "x", "text": "a", "relevant": []},
        {"id": "x", "image": "a.jpg", "relevant": ["1"], "exclude": ["1"]},
        {"id": "x", "text": "a", "relevant": ["1"], "filters": {"size": [42]}},
    ],
)
def test_unusable_query_is_refused(tmp_path: Path, line: dict) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(QueryFileError):
        read_queries(path)


def test_build_is_deterministic_and_readable(tmp_path: Path) -> None:
    catalog = generate_sample_catalog(tmp_path / "cat", n=60)
    a = build_query_sets(catalog, tmp_path / "a", split="train", seed=3)
    b = build_query_sets(catalog, tmp_path / "b", split="train", seed=3)
    assert a == b and a["styles.csv"] > 20
    for name in a:
        if name.endswith(".jsonl"):
            assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text(), name
            for q in read_queries(tmp_path / "a" / name):
                assert q.image is None or q.image.is_file()
    subset = [r for r in read_feed(tmp_path / "a" / "styles.csv") if hasattr(r, "image")]
    assert len(subset) == a["styles.csv"] and all(Path(r.image).is_file() for r in subset)
    vi = read_queries(tmp_path / "a" / "attributes_vi.jsonl")
    folded = read_queries(tmp_path / "a" / "attributes_vi_nodiac.jsonl")
    assert [fold_diacritics(q.text or "") for q in vi] == [q.text for q in folded]
    assert vi and all(len(q.relevant) >= 2 for q in vi)
    for q in read_queries(tmp_path / "a" / "photos.jsonl"):
        assert q.exclude and q.exclude[0] not in q.relevant
