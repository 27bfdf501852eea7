"""Helpers of the operations tests: tiny model versions, and scratch stacks that may be wiped."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from catalog.db import get_engine, make_engine
from clipshoe.commands.evaluation import ingest_catalog, scratch_settings
from clipshoe.runtime import Runtime
from clipshoe.settings import DatabaseSettings
from ingest.sample import generate_sample_catalog
from tests.encoder.factories import save_tiny_clip
from workers import reindex


def tiny_clip(folder: Path) -> Path:
    """The encoder tests' tiny CLIP, with its tokenizer told to truncate at the model's 32
    positions (catalogue titles are longer than the tests' texts)."""
    save_tiny_clip(folder)
    config = folder / "tokenizer_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "model_max_length": 32}))
    return folder


def perturbed_copy(src: Path, dst: Path, seed: int) -> Path:
    """Another model version: the same tiny CLIP with noise on its projections (new weights, new
    hash, different rankings)."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    weights = load_file(src / "model.safetensors")
    gen = torch.Generator().manual_seed(seed)
    for key in ("visual_projection.weight", "text_projection.weight"):
        weights[key] = weights[key] + torch.randn(weights[key].shape, generator=gen) * weights[key].std()
    save_file(weights, dst / "model.safetensors", metadata={"format": "pt"})
    return dst


def _admin(sql: str) -> None:
    engine = make_engine(os.environ["CLIPSHOE_DATABASE__URL"])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))
    engine.dispose()


@contextmanager
def scratch_stack(folder: Path, model: str, *, postgres: bool = False, n: int = 24) -> Iterator[Runtime]:
    """A stack of its own (its own database and data folder, tasks in-process): a catalogue of
    `n` generated products indexed by `model`. Wiping it cannot touch the session's catalogue."""
    settings = scratch_settings(folder / "data", model, "cpu")
    db = f"clipshoe_ops_{os.getpid()}"
    if postgres:
        # FORCE: Alembic's engine keeps a pooled connection of its own.
        _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        _admin(f"CREATE DATABASE {db}")
        url = os.environ["CLIPSHOE_DATABASE__URL"].rsplit("/", 1)[0] + f"/{db}"
        settings = settings.model_copy(update={"database": DatabaseSettings(url=url)})
    rt = Runtime(settings)
    try:
        ingest_catalog(rt, generate_sample_catalog(folder / "feed", n=n, seed=5))
        reindex.adopt_live(rt)  # the registry knows the live model, as after any `clipshoe` operation
        yield rt
    finally:
        rt.close()
        get_engine(settings).dispose()
        if postgres:
            _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def assert_one_clean_swap(upgrade: dict, old: str, new: str) -> None:
    """Searches during an upgrade: none failed, each the exact answer of the one model it reports,
    and the switch from the old model to the new one happened once."""
    expected = {old: upgrade["before"], new: upgrade["after"]}
    assert {v for v, _ in upgrade["before"].values()} == {old}
    assert {v for v, _ in upgrade["after"].values()} == {new}
    assert upgrade["before"] != upgrade["after"]  # the two models answer differently: the check has teeth
    seen = upgrade["seen"]
    assert [s for s in seen if s[1] != 200] == []
    versions = [body["model_version"] for _, _, body in seen]
    assert set(versions) == {old, new}  # traffic ran before and after the swap
    for key, _, body in seen:  # no mixed results
        assert [h["id"] for h in body["hits"]] == expected[body["model_version"]][key][1], key
    switch = versions.index(new)
    assert set(versions[:switch]) == {old} and set(versions[switch:]) == {new}
