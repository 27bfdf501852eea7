"""Name → encoder resolution."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from encoder import registry
from encoder.dual import TowerEncoder
from encoder.hf_clip import HFClipEncoder
from encoder.registry import create_encoder, get_encoder


@pytest.mark.parametrize("name", ["nope", "hf:", "open_clip:", "/no/such/folder", ""])
def test_unknown_names_list_the_valid_forms(name: str) -> None:
    with pytest.raises(ValueError, match="valid names"):
        create_encoder(name)


def test_base_and_hf_are_lazy() -> None:
    base = create_encoder("base", device="cpu")
    assert isinstance(base, TowerEncoder) and base.name == "base" and base.dim == 256
    assert base._image_tower is None  # nothing heavy loaded until first encode
    hf = create_encoder("hf:openai/clip-vit-base-patch32", device="cpu")
    assert isinstance(hf, HFClipEncoder) and hf.name == "hf:openai/clip-vit-base-patch32"


def test_default_falls_back_to_base_with_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(registry, "DEFAULT_CHECKPOINT", tmp_path / "missing")
    with caplog.at_level(logging.WARNING, logger="encoder.registry"):
        encoder = create_encoder("default", device="cpu")
    assert encoder.name == "base" and "falls back" in caplog.text


def test_default_and_paths_load_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = TowerEncoder(TowerEncoder(device="cpu").config.replace(name="default", dim=64), device="cpu")
    saved.save(tmp_path / "default")
    monkeypatch.setattr(registry, "DEFAULT_CHECKPOINT", tmp_path / "default")
    for name in ("default", str(tmp_path / "default")):
        encoder = create_encoder(name, device="cpu")
        assert isinstance(encoder, TowerEncoder)
        assert (encoder.name, encoder.dim, encoder.version) == ("default", 64, saved.version)


def test_get_encoder_caches_per_name_and_device() -> None:
    get_encoder.cache_clear()
    assert get_encoder("base", "cpu") is get_encoder("base", "cpu")
    assert get_encoder("base", "cpu") is not get_encoder("base", "auto")
    get_encoder.cache_clear()


def test_open_clip_names_parse_and_explain_the_optional_dependency() -> None:
    from encoder.open_clip_encoder import OpenClipEncoder

    encoder = create_encoder("open_clip:ViT-B-32:/models/clip:v2.bin", device="cpu")
    assert isinstance(encoder, OpenClipEncoder)
    assert (encoder.arch, encoder.pretrained) == ("ViT-B-32", "/models/clip:v2.bin")
    with pytest.raises(ValueError, match=r"open_clip:<arch>"):
        create_encoder("open_clip:ViT-B-32")
    try:
        import open_clip  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install open_clip_torch"):
            encoder.encode_texts(["red shoes"])
