"""`clipshoe eval`: the evaluation contract (docs/design.md), and `clipshoe eval build-queries`.

The catalogue goes into a scratch index (a temp folder: SQLite + embedded Qdrant, tasks
in-process) through the real ingest pipeline, and every query runs through the SearchService
the API serves, with the API's own filter normalisation. Nothing touches the configured
database, broker or index, so an evaluation can run beside a live deployment.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clipshoe.commands import setup_logging

if TYPE_CHECKING:
    from clipshoe.runtime import Runtime
    from encoder.evaluation.runner import RunResult, SearchFn

app = typer.Typer(help="Score models and search modes on query sets (the evaluation contract).")


class EvalMode(StrEnum):
    """search.service.Mode's names, repeated so `clipshoe --help` need not import torch."""

    image = "image"
    dense = "dense"
    lexical = "lexical"
    hybrid = "hybrid"


def scratch_settings(data_dir: Path, model: str, device: str = "auto"):  # type: ignore[no-untyped-def]
    """Settings for a throwaway embedded stack. Every group is given explicitly: a group left
    out would be read from CLIPSHOE_* env vars and could point at a live Postgres or Redis."""
    from clipshoe.settings import (
        ApiSettings,
        BrokerSettings,
        DatabaseSettings,
        EncoderSettings,
        IngestSettings,
        QdrantSettings,
        Settings,
    )

    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=f"sqlite:///{(data_dir / 'eval.db').resolve()}"),
        qdrant=QdrantSettings(path=data_dir / "qdrant", backend="edge"),
        broker=BrokerSettings(),
        encoder=EncoderSettings(model=model, device=device),
        ingest=IngestSettings(),
        api=ApiSettings(),
        _env_file=None,  # type: ignore[call-arg]
    )


def ingest_catalog(rt: Runtime, catalog: Path) -> dict[str, Any]:
    """The worker pipeline's own stages, run here in order (plan, embed every batch)."""
    from catalog import repository
    from catalog.db import migrate
    from workers import pipeline

    migrate(rt.settings)
    with rt.sessions.begin() as s:
        job_id = repository.create_job(s, str(catalog.resolve()), None, None).id
    batches = pipeline.plan_job(rt, job_id)
    for batch in batches:
        pipeline.embed_batch(rt, job_id, batch)
    if not batches:
        pipeline.finish_job(rt, job_id)
    with rt.sessions() as s:
        job = repository.get_job(s, job_id)
        assert job is not None
        stats = {"products": job.total, "indexed": job.indexed, "failed": job.failed}
    return {**stats, "model_version": rt.encoder.version}


@contextmanager
def scratch_catalog(catalog: Path, model: str, device: str = "auto") -> Iterator[Runtime]:
    from catalog.db import get_engine
    from clipshoe.runtime import Runtime

    folder = Path(tempfile.mkdtemp(prefix="clipshoe-eval-"))
    settings = scratch_settings(folder, model, device)
    rt = Runtime(settings)
    try:
        yield rt
    finally:
        rt.close()
        get_engine(settings).dispose()
        shutil.rmtree(folder, ignore_errors=True)


def search_fn(rt: Runtime, mode: EvalMode) -> SearchFn:
    """Query → catalogue ids through SearchService, filters normalised by the API's own code."""
    from fastapi import HTTPException
    from sqlalchemy import select

    from api.deps import search_filter
    from catalog.models import Product
    from encoder.evaluation.query_file import Query, QueryFileError
    from ingest.images import validate_image
    from search.service import Mode

    service = rt.search  # the very object the API's routes call
    with rt.sessions() as s:
        points: dict[str, list[str]] = {}
        for source_id, pid in s.execute(select(Product.source_id, Product.point_id)):
            points.setdefault(source_id, []).append(pid)
    limits = rt.settings.ingest

    def run(q: Query, text: str | None, limit: int) -> list[str]:
        f = q.filters
        try:
            flt = search_filter(
                brand=list(f.get("brand", [])),
                category=list(f.get("category", [])),
                gender=list(f.get("gender", [])),
                colour=list(f.get("colour", [])),
                price_min=f.get("price_min"),
                price_max=f.get("price_max"),
            )
        except HTTPException as exc:
            raise QueryFileError(f"query {q.id}: {exc.detail}") from exc
        flt = flt.with_excluded([p for pid in q.exclude for p in points.get(pid, [])])
        image = None
        if q.image is not None:
            image = validate_image(
                q.image, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels
            )
        result = service.search(
            text=text, image=image.image if image else None, flt=flt, mode=Mode(mode.value), limit=limit
        )
        return [h.product.source_id for h in result.hits]

    return run


def evaluate(
    catalog: Path,
    query_files: list[Path],
    models: list[str],
    modes: list[EvalMode],
    templates: list[str],
    device: str = "auto",
) -> list[RunResult]:
    """Every model × mode × query set × template; the catalogue is ingested once per model."""
    import torch
    from tqdm import tqdm

    from encoder.evaluation.query_file import read_queries
    from encoder.evaluation.runner import run_queries

    sets = {path.stem: read_queries(path) for path in query_files}
    runs: list[RunResult] = []
    ingest_threads = torch.get_num_threads()
    for model in models:
        with scratch_catalog(catalog, model, device) as rt:
            torch.set_num_threads(ingest_threads)
            stats = ingest_catalog(rt, catalog)
            typer.echo(f"{model}: {stats['indexed']} products indexed, {stats['failed']} failed", err=True)
            # Queries are encoded one at a time, as the API does. A batch of one gains nothing from
            # more threads, and on a shared CPU their spin-waits made each query 45x slower
            # (2.1 s vs 0.047 s measured with two other jobs running).
            torch.set_num_threads(1)
            for mode in modes:
                search = search_fn(rt, mode)
                for name, queries in sets.items():
                    for template in templates:
                        with tqdm(total=len(queries), desc=f"{model}/{mode}/{name}", leave=False) as bar:
                            run = run_queries(
                                search, queries, model=model, mode=mode.value, query_set=name,
                                template=template, progress=bar.update,
                            )  # fmt: skip
                        run.extra = {"catalog": stats}
                        runs.append(run)
    return runs


@app.callback(invoke_without_command=True)
def run_eval(
    ctx: typer.Context,
    catalog: Annotated[Path | None, typer.Option(help="Catalogue feed (styles.csv layout or JSONL).")] = None,
    queries: Annotated[list[Path] | None, typer.Option(help="Query file (JSONL); repeatable.")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Model name; repeatable. Default: default.")] = None,
    mode: Annotated[
        list[EvalMode] | None, typer.Option(help="Search mode; repeatable. Default: hybrid.")
    ] = None,
    template: Annotated[
        list[str] | None, typer.Option(help="Query-side prompt template with {q}; repeatable.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Metrics JSON (a list if several runs).")
    ] = None,
    per_query: Annotated[Path | None, typer.Option(help="Per-query rankings and scores (JSONL).")] = None,
    report: Annotated[Path | None, typer.Option(help="Folder for report.md and the acc@k plot.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N")] = "auto",
) -> None:
    """Ingest CATALOG into a scratch index and score every query file (see docs/evaluation.md)."""
    if ctx.invoked_subcommand is not None:
        return
    if catalog is None or not queries:
        raise typer.BadParameter("--catalog and at least one --queries are required")
    setup_logging()
    runs = evaluate(
        catalog, queries, model or ["default"], mode or [EvalMode.hybrid], template or ["{q}"], device
    )
    payload = runs[0].to_json() if len(runs) == 1 else [r.to_json() for r in runs]
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if per_query:
        per_query.parent.mkdir(parents=True, exist_ok=True)
        with per_query.open("w", encoding="utf-8") as handle:
            for r in runs:
                tags = {"model": r.model, "mode": r.mode, "query_set": r.query_set, "template": r.template}
                for q in r.results:
                    handle.write(json.dumps({**tags, **q.to_json()}, ensure_ascii=False) + "\n")
    if report:
        from encoder.evaluation.report import write_report

        write_report(runs, report)
    for r in runs:
        m = r.metrics
        typer.echo(f"{r.query_set:<22} {r.label:<40} " + " ".join(f"{k}={v:.3f}" for k, v in m.items()))


@app.command("build-queries")
def build_queries(
    catalog: Annotated[Path, typer.Option(exists=True, help="The full catalogue (styles.csv layout).")],
    out: Annotated[Path, typer.Option(help="Folder for the split's catalogue and the query files.")],
    split: Annotated[str, typer.Option(help="train, val or test (the fixed split).")] = "test",
    seed: Annotated[int, typer.Option(help="Seed for wordings and filter choices.")] = 0,
) -> None:
    """Write the split's catalogue and the benchmark query sets (titles, attributes EN/VI, photos…)."""
    from encoder.evaluation.queries import build_query_sets

    if split not in ("train", "val", "test"):
        raise typer.BadParameter("split must be train, val or test")
    for name, n in build_query_sets(catalog, out, split, seed).items():  # type: ignore[arg-type]
        typer.echo(f"{out / name}: {n}")


@app.command("report")
def report_cmd(
    results: Annotated[list[Path], typer.Argument(exists=True, help="`clipshoe eval --json` outputs.")],
    out: Annotated[Path, typer.Option(help="Folder for report.md, acc_at_k.png and results.json.")],
    title: Annotated[str, typer.Option()] = "ClipShoe evaluation",
) -> None:
    """Merge saved results (e.g. base from one run, default from another) into one table and plot."""
    from encoder.evaluation.report import load_summaries, write_report

    for path in write_report(load_summaries(results), out, title):
        typer.echo(path)
