"""A tiny real training run on generated shoes: the loss falls, val acc rises, resume is exact."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from encoder.checkpoint import WEIGHTS_FILE
from encoder.dual import TowerEncoder
from encoder.training.config import TrainConfig
from encoder.training.dataset import read_manifest
from encoder.training.features import flat_blocks, trunk_features
from encoder.training.setup import TrainingModel, classified_brands, tower_config
from encoder.training.trainer import (
    contrastive_loss,
    drop_descriptions,
    image_pair_loss,
    positives_for,
    same_attributes,
    sample_captions,
    train,
)

TEXTS = ["black boots for women", "giày thể thao nam màu đỏ"]


def tiny(tmp_path: Path, **changes: object) -> TrainConfig:
    """Tiny input size and one unfrozen block/layer keep a run to seconds on two cores."""
    base = TrainConfig(
        image_size=48,
        views=2,
        image_unfreeze_blocks=1,
        text_unfreeze_layers=1,
        epochs=3,
        batch_size=48,
        lr=3e-3,
        tower_lr=3e-4,
        warmup_steps=2,
        patience=10,
        save_dtype="float32",
        cache_dir=str(tmp_path / "cache"),
        run_dir=str(tmp_path / "run"),
        device="cpu",
    )
    return base.replace(**changes)


def test_multi_positive_loss_treats_matching_captions_as_positives() -> None:
    rows = [{"colour": "black", "category": "heels"}, {"colour": "black", "category": "heels"}, {}]
    captions = [{"match": {"colour": "black", "category": "heels"}}, {"match": {}}, {"match": {}}]
    mask = positives_for(captions, rows, multi=True)
    assert mask.tolist() == [[True, True, False], [False, True, False], [False, False, True]]
    features = torch.eye(3)
    assert contrastive_loss(features, features, torch.tensor(3.0), mask) > 0


def test_same_text_positive_counts_products_that_share_a_caption() -> None:
    title = {"text": "Catwalk Women Black Heels", "match": {}}
    rows = [
        {"captions": [title, {"text": "a photo of Catwalk Women Black Heels", "match": {}}]},
        {"captions": [{"text": "catwalk women black heels", "match": {}}]},  # same title, other case
        {"captions": [{"text": "Catwalk Women Red Heels", "match": {}}]},
    ]
    captions = [title, rows[1]["captions"][0], rows[2]["captions"][0]]
    assert positives_for(captions, rows, multi=True).tolist() == torch.eye(3, dtype=torch.bool).tolist()
    mask = positives_for(captions, rows, multi=True, same_text=True)
    assert mask.tolist() == [[True, True, False], [True, True, False], [False, False, True]]


def test_photo_pair_loss_pulls_same_type_and_colour_together() -> None:
    rows = [
        {"category": "heels", "colour": "black"},
        {"category": "heels", "colour": "black"},
        {"category": "boots", "colour": "brown"},
        {"category": "boots", "colour": None},  # unknown colour: never a positive
    ]
    same = same_attributes(rows)
    assert same.tolist() == [
        [True, True, False, False],
        [True, True, False, False],
        [False, False, True, False],
        [False, False, False, False],
    ]
    scale = torch.tensor(2.0)
    apart = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0]])
    together = torch.tensor([[1.0, 0, 0], [1.0, 0.1, 0], [0, 0, 1.0], [1.0, 1.0, 0]])
    assert image_pair_loss(together, scale, same) < image_pair_loss(apart, scale, same)
    # rows without a positive (3 of 4 here would be none): only the first two count
    assert torch.isfinite(image_pair_loss(apart, scale, same))


def test_decay_all_false_spares_temperature_biases_and_norms(tmp_path: Path) -> None:
    encoder = TowerEncoder(tower_config(tiny(tmp_path)), device="cpu").ensure_loaded()
    assert isinstance(encoder, TowerEncoder)

    def decay_of(model: TrainingModel) -> dict[int, float]:
        return {id(p): g["weight_decay"] for g in model.optimizer.param_groups for p in g["params"]}

    everything = decay_of(TrainingModel(tiny(tmp_path, weight_decay=0.05), encoder))
    assert set(everything.values()) == {0.05}  # the rule older checkpoints were trained with
    spared = decay_of(TrainingModel(tiny(tmp_path, weight_decay=0.05, decay_all=False), encoder))
    assert spared.keys() == everything.keys()
    params = {id(p): p for _, p in encoder.named_trainable_parameters()}
    assert spared[id(encoder.logit_scale)] == 0.0 and spared[id(encoder.image_head.weight)] == 0.05
    assert all((spared[k] == 0.0) == (params[k].ndim < 2) for k in spared)
    assert sum(params[k].ndim < 2 for k in spared) > 1  # biases and norm gains of unfrozen layers


@pytest.fixture(scope="module")
def trained(sample_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    tmp = tmp_path_factory.mktemp("run")
    summary = train(tiny(tmp), sample_dataset, tmp / "out")
    return summary, tmp


def test_training_lowers_loss_and_raises_val_accuracy(trained: tuple[dict, Path]) -> None:
    summary, _ = trained
    history = summary["history"]
    assert history[0]["epoch"] == 0  # the untrained starting point
    assert history[-1]["loss"] < history[1]["loss"]
    assert summary["val"]["acc@5"] > history[0]["acc@5"]
    assert summary["val"]["mrr@10"] > history[0]["mrr@10"]


def test_checkpoint_loads_with_folding_and_training_notes(trained: tuple[dict, Path]) -> None:
    _, tmp = trained
    enc = TowerEncoder.load(tmp / "out", device="cpu")
    assert enc.config.preprocessing["image_size"] == 48 and enc.config.training["seed"] == 0
    assert enc.config.finetuned["image_tower"] and enc.config.finetuned["text_tower"]
    with_marks, without = (
        enc.encode_texts(TEXTS),
        enc.encode_texts(["black boots for women", "giay the thao nam mau do"]),
    )
    np.testing.assert_allclose(with_marks, without, atol=1e-6)


def test_resume_continues_to_the_same_model(
    sample_dataset: Path, trained: tuple[dict, Path], tmp_path: Path
) -> None:
    summary, whole = trained
    steps_per_epoch = summary["steps"] // 3
    config = tiny(whole).replace(run_dir=str(tmp_path / "run"))  # same cache, fresh run state
    first = train(config.replace(max_steps=steps_per_epoch), sample_dataset, tmp_path / "half")
    assert first["steps"] == steps_per_epoch
    resumed = train(config, sample_dataset, tmp_path / "out", resume=True)
    assert resumed["steps"] == summary["steps"]
    a = TowerEncoder.load(whole / "out", device="cpu").encode_texts(TEXTS)
    b = TowerEncoder.load(tmp_path / "out", device="cpu").encode_texts(TEXTS)
    # exactly: the second run loads the trunk cache the first computed, in the same tensor layout
    np.testing.assert_array_equal(a, b)


def test_brand_classifier_is_trained_and_resumed_but_not_shipped(
    sample_dataset: Path, trained: tuple[dict, Path], tmp_path: Path
) -> None:
    rows = [r for r in read_manifest(sample_dataset) if r["split"] == "train"]
    config = tiny(trained[1], brand_loss_weight=1.0, epochs=2, run_dir=str(tmp_path / "run"))
    assert classified_brands(config.replace(brand_loss_weight=0.0), rows) == []
    brands = classified_brands(config, rows)
    assert brands and all(sum(r["brand"] == b for r in rows) >= config.brand_min_products for b in brands)
    assert classified_brands(config.replace(brand_min_products=10_000), rows) == []

    whole = train(config, sample_dataset, tmp_path / "whole")
    assert "brand_head" in torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    shipped = load_file(tmp_path / "whole" / WEIGHTS_FILE)
    assert shipped.keys() == load_file(trained[1] / "out" / WEIGHTS_FILE).keys()  # no classifier

    # interrupted after one epoch and resumed: the classifier's state comes back with the rest
    steps = whole["steps"] // 2
    again = config.replace(run_dir=str(tmp_path / "again"))
    train(again.replace(max_steps=steps), sample_dataset, tmp_path / "half")
    resumed = train(again, sample_dataset, tmp_path / "resumed", resume=True)
    assert resumed["steps"] == whole["steps"]
    for key, value in load_file(tmp_path / "resumed" / WEIGHTS_FILE).items():
        torch.testing.assert_close(value, shipped[key], atol=0, rtol=0, msg=key)


def test_init_scale_sets_the_starting_temperature(sample_dataset: Path, trained: tuple[dict, Path]) -> None:
    tmp = trained[1]
    config = tiny(tmp, init_scale=40.0, max_steps=1, run_dir=str(tmp / "scaled"))
    train(config, sample_dataset, tmp / "scaled_out")
    scale = TowerEncoder.load(tmp / "scaled_out", device="cpu").logit_scale.exp().item()
    assert scale == pytest.approx(40.0, rel=0.01)  # one step moves log(scale) by about lr
    with pytest.raises(ValueError, match="init_scale"):
        train(config.replace(init_scale=-1.0), sample_dataset, tmp / "never")


def test_image_regularisers_act_in_training_only(tmp_path: Path) -> None:
    plain_config = tiny(tmp_path, image_unfreeze_blocks=3)
    encoder = TowerEncoder(tower_config(plain_config), device="cpu").ensure_loaded()
    assert isinstance(encoder, TowerEncoder)
    acts = trunk_features(encoder.image_tower, torch.randn(8, 3, 48, 48), n_blocks=3)
    plain = TrainingModel(plain_config, encoder)
    plain.eval()
    with torch.no_grad():
        reference = plain.image_embed(acts)
    keys = plain.trainable_state().keys()

    config = plain_config.replace(image_drop_path=0.5, image_dropout=0.5)
    model = TrainingModel(config, encoder)
    # stochastic depth on the unfrozen residual blocks only (of the last three, blocks 13 and 14)
    rates = [block.drop_path.drop_prob for block in flat_blocks(encoder.image_tower)[-3:] if block.has_skip]
    assert rates == [pytest.approx(0.5 * 13 / 16), pytest.approx(0.5 * 14 / 16)]
    assert model.trainable_state().keys() == keys  # nothing new to save: checkpoints are unchanged
    with torch.no_grad():
        model.eval()
        torch.testing.assert_close(model.image_embed(acts), reference)  # inference as before
        model.train()
        first, second = model.image_embed(acts), model.image_embed(acts)
    assert not torch.allclose(first, second) and not torch.allclose(first, reference)


def test_description_captions_are_drawn_only_when_weighted(sample_dataset: Path) -> None:
    rows = [r for r in read_manifest(sample_dataset) if r["split"] == "train"][:40]
    assert all(r["captions"][-1]["kind"] == "description" for r in rows)  # the sample feed has them

    def drawn(config: TrainConfig, rows: list[dict]) -> list[dict]:
        rng = random.Random(0)
        return [c for _ in range(20) for c in sample_captions(rows, rng, config)]

    off = TrainConfig()
    assert all(c["kind"] != "description" for c in drawn(off, rows))
    # weight 0 leaves the draws as they were before descriptions existed (the same rng stream)
    assert drawn(off, rows) == drawn(off, drop_descriptions(rows))
    assert all(c["kind"] != "description" for r in drop_descriptions(rows) for c in r["captions"])
    heavy = drawn(TrainConfig(description_weight=100.0), rows)
    assert sum(c["kind"] == "description" for c in heavy) > 0.8 * len(heavy)


def test_fit_val_trains_on_train_and_val_and_keeps_the_last_epoch(
    sample_dataset: Path, trained: tuple[dict, Path], tmp_path: Path
) -> None:
    rows = list(read_manifest(sample_dataset))
    fitted = [r for r in rows if r["split"] in ("train", "val")]
    assert any(r["split"] == "val" for r in fitted) and any(r["split"] == "test" for r in rows)
    # patience 1 would stop a validated run early; with nothing held out every epoch runs
    config = tiny(trained[1], fit_val=True, patience=1, batch_size=50, run_dir=str(tmp_path / "run"))
    summary = train(config, sample_dataset, tmp_path / "out")
    assert summary["data"]["splits"] == ["train", "val"]
    assert (summary["data"]["train"], summary["data"]["val"]) == (len(fitted), 0)
    assert summary["steps"] == 3 * -(-len(fitted) // config.batch_size)
    assert [h["epoch"] for h in summary["history"]] == [1, 2, 3] and summary["val"] == {}
    # the shipped weights are the last epoch's: resuming the finished run saves the same model
    train(config, sample_dataset, tmp_path / "again", resume=True)
    for key, value in load_file(tmp_path / "again" / WEIGHTS_FILE).items():
        torch.testing.assert_close(value, load_file(tmp_path / "out" / WEIGHTS_FILE)[key], msg=key)
