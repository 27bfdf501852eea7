"""Commands that build training data and fine-tune the encoder: `dataset build|export`, `train`.

    clipshoe dataset build --catalog ../shared/data/myntra-footwear/styles.csv --out var/data/myntra
    clipshoe train --config encoder/training/recipes/default.yaml \\
        --catalog ../shared/data/myntra-footwear/styles.csv --out encoder/checkpoints/default

Run training with
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296``
on CPU (≈3× image throughput; glibc reads it only at process start).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from clipshoe.commands import setup_logging

app = typer.Typer()
dataset_app = typer.Typer(help="Image–text training data from a catalogue.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")

CatalogOption = Annotated[
    Path | None, typer.Option(exists=True, help="styles.csv, JSONL feed, or a folder holding one.")
]


@dataset_app.command("build")
def dataset_build(
    catalog: Annotated[Path, typer.Option(exists=True, help="styles.csv, JSONL feed, or its folder.")],
    out: Annotated[Path, typer.Option(help="Folder for manifest.jsonl and summary.json.")],
    format: Annotated[str | None, typer.Option(help="myntra or jsonl; detected if omitted.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the caption synonym draws.")] = 0,
) -> None:
    """Write the training manifest: split, photo and EN+VI captions per product with a photo."""
    from encoder.training.dataset import build_dataset

    setup_logging()
    typer.echo(json.dumps(build_dataset(catalog, out, format, seed), indent=2))


@dataset_app.command("export")
def dataset_export(
    out: Annotated[Path, typer.Option(help="Empty folder for the shards and manifest.json.")],
    format: Annotated[str, typer.Option(help="webdataset (tar shards) or parquet.")] = "webdataset",
    shard_size: Annotated[int, typer.Option(min=1, help="Samples per shard.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the caption draws.")] = 0,
    source: Annotated[str | None, typer.Option(help="Only this source's listings.")] = None,
) -> None:
    """Export the ingested catalogue as image–text pairs (EN + VI captions), split train/val/test."""
    from clipshoe.runtime import get_runtime
    from ingest.export import FORMATS, export_dataset

    setup_logging()
    if format not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    rt = get_runtime()
    try:
        summary = export_dataset(rt.sessions, rt.settings.media_dir, out, format, shard_size, seed, source)  # type: ignore[arg-type]
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    typer.echo(
        json.dumps({k: v for k, v in summary.items() if k != "shards"} | {"shards": len(summary["shards"])})
    )


def _dataset_for(catalog: Path) -> Path:
    """Build (once) the manifest of a catalogue under var/, keyed by the feed's path and bytes."""
    from encoder.training.dataset import MANIFEST, build_dataset
    from ingest.feeds import _feed_file

    feed = _feed_file(catalog.resolve())
    digest = hashlib.blake2b(feed.read_bytes() + str(feed).encode(), digest_size=8).hexdigest()
    folder = Path("var/data") / f"{feed.parent.name}-{digest}"
    if not (folder / MANIFEST).is_file():
        build_dataset(feed, folder)
    return folder


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Checkpoint folder to write (TowerEncoder.save).")],
    config: Annotated[
        Path | None, typer.Option(exists=True, help="Recipe file (.yaml or .json); defaults if omitted.")
    ] = None,
    catalog: CatalogOption = None,
    dataset: Annotated[
        Path | None, typer.Option(exists=True, help="A folder from `dataset build` (instead of --catalog).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a recipe setting: key=value (repeatable).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the run's last saved epoch.")] = False,
) -> None:
    """Fine-tune the TowerEncoder contrastively and write the best (val mrr@10) checkpoint."""
    from encoder.training.config import load_config
    from encoder.training.trainer import train as run_training

    setup_logging()
    if (catalog is None) == (dataset is None):
        raise typer.BadParameter("give exactly one of --catalog and --dataset")
    recipe = load_config(config, set_ or [])
    manifest = dataset if dataset is not None else _dataset_for(catalog)  # type: ignore[arg-type]
    command = "clipshoe " + shlex.join(sys.argv[1:])
    summary = run_training(recipe, manifest, out, resume=resume, command=command)
    typer.echo(json.dumps({"out": str(out), "val": summary["val"], "seconds": summary["train_seconds"]}))
