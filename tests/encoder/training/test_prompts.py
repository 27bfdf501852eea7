"""Captions: English and Vietnamese, from the ingest synonym tables; folding at query time."""

from __future__ import annotations

import random

from encoder.checkpoint import TowerConfig
from encoder.dual import TowerEncoder
from encoder.training.prompts import DESCRIPTION_WORDS, captions, vietnamese, vietnamese_names

PRODUCT = {
    "title": "Nike Men Black Running Sports Shoes",
    "brand": "Nike",
    "category": "sports shoes",
    "colour": "black",
    "gender": "men",
    "attributes": {"usage": "Sports"},
}


def test_reverse_tables_give_vietnamese_names() -> None:
    assert vietnamese("colour", "black") == "đen"
    assert vietnamese("gender", "women") == "nữ"
    assert vietnamese("category", "sports shoes") == "giày thể thao"
    assert "xanh" in vietnamese_names()["colour"]["blue"]  # an undotted Vietnamese word is still found
    assert all("shoes" not in name for name in vietnamese_names()["category"]["sports shoes"])


def test_captions_cover_both_languages_and_mark_attribute_matches() -> None:
    out = captions(PRODUCT)
    texts = [c.text for c in out]
    assert PRODUCT["title"] in texts
    assert "black sports shoes for men" in texts
    assert "giày thể thao nam màu đen" in texts
    assert {c.lang for c in out} == {"en", "vi"}
    by_text = {c.text: c for c in out}
    assert by_text["black sports shoes for men"].match == {
        "category": "sports shoes",
        "colour": "black",
        "gender": "men",
    }
    assert by_text[PRODUCT["title"]].match == {}  # a title names one product


def test_captions_skip_templates_with_missing_fields_and_draw_synonyms() -> None:
    bare = {"title": "Mystery shoe"}
    assert [c.text for c in captions(bare)] == ["Mystery shoe", "a photo of Mystery shoe"]
    drawn = {c.text for seed in range(20) for c in captions(PRODUCT, random.Random(seed))}
    assert any("giày chạy bộ" in text for text in drawn)  # synonyms beyond the first name


def test_text_preprocessing_folds_diacritics_when_configured() -> None:
    base = TowerEncoder(device="cpu")
    assert base.prepare_texts(["giày thể thao"]) == ["giày thể thao"]
    prep = {**TowerConfig().preprocessing, "fold_diacritics": True}
    folded = TowerEncoder(TowerConfig(preprocessing=prep), device="cpu")
    assert folded.prepare_texts(["giày thể thao đỏ"]) == ["giay the thao do"]


def test_a_description_gives_one_caption_of_its_opening_words() -> None:
    assert all(c.kind == "template" for c in captions(PRODUCT))  # no description, no such caption
    words = [f"word{i}" for i in range(DESCRIPTION_WORDS + 10)]
    out = captions({**PRODUCT, "description": "  ".join(words)})
    assert [c.kind for c in out].count("description") == 1
    assert out[-1].kind == "description" and out[-1].text == " ".join(words[:DESCRIPTION_WORDS])
    assert out[-1].match == {}  # it describes its own product only
    assert [c.text for c in out[:-1]] == [c.text for c in captions(PRODUCT)]
