"""TrainConfig: recipe files plus key=value overrides, typed and validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from encoder.training.config import TrainConfig, load_config

RECIPES = Path(__file__).resolve().parents[3] / "encoder" / "training" / "recipes"


def test_yaml_recipe_then_overrides(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("epochs: 4\nmode: lit\nlr: 0.002\n")
    config = load_config(recipe, ["epochs=7", "fold_diacritics=false", "tower_lr=1e-5", "name=x"])
    assert (config.epochs, config.mode, config.lr) == (7, "lit", 0.002)
    assert config.fold_diacritics is False and config.tower_lr == 1e-5 and config.name == "x"
    assert isinstance(config.epochs, int)


def test_json_recipe_and_shipped_recipe_load(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text('{"batch_size": 32}')
    assert load_config(recipe).batch_size == 32
    assert load_config(RECIPES / "default.yaml").name == "default"


@pytest.mark.parametrize("override", ["nope=1", "epochs=many", "mode=frozen", "amp=maybe", "epochs"])
def test_bad_overrides_are_refused(override: str) -> None:
    with pytest.raises(ValueError):
        TrainConfig().with_overrides([override])
