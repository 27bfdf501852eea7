"""Commands that set up, load and serve the catalogue: migrate, sample, ingest, serve, demo, worker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from catalog.models import JobPriority
from clipshoe.commands import setup_logging

app = typer.Typer()


@app.command()
def migrate() -> None:
    """Create or upgrade the catalogue database schema (alembic upgrade head)."""
    from catalog.db import migrate as run_migrations

    setup_logging()
    run_migrations()
    typer.echo("database is at the latest schema")


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample catalogue to.")] = Path(
        "var/sample"
    ),
    n: Annotated[int, typer.Option(help="Number of products.")] = 60,
) -> None:
    """Generate a small sample catalogue (styles.csv layout + drawn photos)."""
    from ingest.sample import generate_sample_catalog

    typer.echo(generate_sample_catalog(out, n=n))


def _wait_for_job(job_id: int) -> None:
    """A progress bar over the job's items (done / total, rate and ETA from the job's own counters)
    until it finishes; then its counts and first dead-letter entries."""
    from catalog import repository
    from catalog.models import JobStatus
    from clipshoe.runtime import get_runtime
    from workers.progress import job_progress

    rt = get_runtime()
    bar = tqdm(desc=f"ingest job {job_id}", unit="item", dynamic_ncols=True)
    while True:
        with rt.sessions() as s:
            job = repository.get_job(s, job_id)
            assert job is not None
            progress = job_progress(job)
            bar.total, bar.n = progress.total or None, progress.done
            eta = "?" if progress.eta_seconds is None else f"{progress.eta_seconds:.0f}s"
            bar.set_postfix(indexed=job.indexed, updated=job.updated, failed=job.failed, eta=eta)
            bar.refresh()
            if job.status in (JobStatus.completed, JobStatus.failed):
                bar.close()
                typer.echo(
                    f"job {job.id} {job.status}: {job.total} read, {job.indexed} indexed, "
                    f"{job.updated} updated, {job.unchanged} unchanged, {job.failed} failed"
                    + (f" ({job.message})" if job.message else "")
                )
                for e in repository.job_errors(s, job_id, limit=10):
                    typer.echo(f"  line {e.line} [{e.source_id}] {e.stage}: {e.reason}")
                if job.failed > 10:
                    typer.echo(f"  … all of them: clipshoe dead-letter --job {job_id}")
                if job.status == JobStatus.failed:
                    raise typer.Exit(1)
                return
        time.sleep(0.5)


def run_ingest(
    feed: Path, fmt: str | None = None, source: str | None = None, priority: str = "bulk", wait: bool = True
) -> int:
    from catalog import repository
    from catalog.db import migrate as run_migrations
    from clipshoe.runtime import get_runtime
    from workers.dispatch import submit_job
    from workers.pipeline import optimize_index

    rt = get_runtime()
    if not wait and not rt.settings.broker.url:
        # Embedded jobs run in this process's threads: returning would kill them half-way.
        typer.echo("--no-wait needs a broker (CLIPSHOE_BROKER__URL); embedded, the job runs here", err=True)
        wait = True
    run_migrations(rt.settings)
    with rt.sessions.begin() as s:
        job = repository.create_job(s, str(feed.resolve()), fmt, source, priority)
    submit_job(rt, job.id)
    if not wait:
        typer.echo(f"job {job.id} submitted ({priority}); follow it with GET /ingest/jobs/{job.id}")
        return job.id
    _wait_for_job(job.id)
    if optimize_index(rt):
        typer.echo("vector index optimised (HNSW built)")
    return job.id


@app.command()
def ingest(
    feed: Annotated[
        Path,
        typer.Argument(
            exists=True, help="A feed file (styles.csv, JSONL, CSV) or a folder (photos, Zappos50K)."
        ),
    ],
    format: Annotated[
        str | None, typer.Option(help="myntra, jsonl, csv, folder or zappos50k; detected if omitted.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source name for JSONL feeds.")] = None,
    priority: Annotated[
        JobPriority, typer.Option(help="live: a merchant's update, before any queued bulk backfill.")
    ] = JobPriority.bulk,
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar until it ends.")] = True,
) -> None:
    """Ingest a feed: in-process when embedded, through the workers when a broker is set."""
    setup_logging()
    run_ingest(feed, format, source, priority.value, wait)


@app.command("ingest-resume")
def ingest_resume(
    job: Annotated[int, typer.Argument(help="The job's id.")],
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar until it ends.")] = True,
) -> None:
    """Pick up an unfinished job after its messages were lost (broker restart) or its process stopped."""
    from catalog import repository
    from catalog.models import JobStatus
    from clipshoe.runtime import get_runtime
    from workers.dispatch import resume_job

    setup_logging()
    rt = get_runtime()
    with rt.sessions() as s:
        row = repository.get_job(s, job)
        if row is None or row.status not in (JobStatus.pending, JobStatus.running):
            typer.echo(f"job {job} is {row.status if row else 'unknown'}: nothing to resume", err=True)
            raise typer.Exit(2)
    typer.echo(f"job {job}: sent again {resume_job(rt, job)}")
    if wait:
        _wait_for_job(job)


@app.command("dead-letter")
def dead_letter(
    job: Annotated[int | None, typer.Option(help="Only this job's items.")] = None,
    stage: Annotated[str | None, typer.Option(help="feed, image or embed.")] = None,
    source: Annotated[str | None, typer.Option(help="Only jobs of this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Items that could not be ingested: job, line, listing, stage, attempts and reason."""
    import json

    from catalog import repository
    from clipshoe.runtime import get_runtime

    rt = get_runtime()
    with rt.sessions() as s:
        total, rows = repository.dead_letter(s, job, stage, source, limit=limit)
        for e in rows:
            if as_json:
                keys = ("id", "job_id", "line", "source_id", "stage", "attempts", "reason", "record")
                typer.echo(json.dumps({k: getattr(e, k) for k in keys} | {"at": e.created_at.isoformat()}))
            else:
                typer.echo(
                    f"job {e.job_id} line {e.line} [{e.source_id}] {e.stage} "
                    f"(attempts {e.attempts}): {e.reason}"
                )
    if not as_json:
        typer.echo(f"{len(rows)} of {total} shown", err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None
) -> None:
    """Serve the API (and, embedded, run ingest jobs in this process)."""
    import uvicorn

    from api.main import create_app
    from catalog.db import migrate as run_migrations
    from clipshoe.runtime import get_runtime

    setup_logging()
    rt = get_runtime()
    run_migrations(rt.settings)
    uvicorn.run(
        create_app(), host=host or rt.settings.api.host, port=port or rt.settings.api.port, log_level="info"
    )


@app.command()
def demo(
    catalog: Annotated[
        Path | None, typer.Option(help="A styles.csv or JSONL feed; default: a generated sample.")
    ] = None,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
) -> None:
    """Set everything up embedded (no Docker), load a catalogue, serve on http://127.0.0.1:8000."""
    from clipshoe.runtime import get_runtime
    from ingest.sample import generate_sample_catalog

    setup_logging()
    rt = get_runtime()
    if catalog is None:
        catalog = rt.settings.data_dir / "sample" / "styles.csv"
        if not catalog.exists():
            catalog = generate_sample_catalog(catalog.parent)
    started = time.perf_counter()
    run_ingest(catalog)
    typer.echo(f"catalogue ready in {time.perf_counter() - started:.1f}s")
    if serve_api:
        serve(host, port)


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues or stages (ingest, encode); drained live first.")
    ] = "ingest,encode",
    concurrency: Annotated[
        int | None, typer.Option(help="Tasks at once (default: 2 with threads, 1 with prefork).")
    ] = None,
    pool: Annotated[
        str,
        typer.Option(
            help="prefork (default) or threads. threads runs a feed task beside an embed task in one "
            "process, but on 2 cores it ingested slower (the tasks compete for the GIL; "
            "docs/benchmarks.md) and it exits when Redis restarts mid-task (docs/faults.md)."
        ),
    ] = "prefork",
) -> None:
    """Run a Celery worker (needs CLIPSHOE_BROKER__URL and, for several processes, a Qdrant server)."""
    from clipshoe.settings import get_settings
    from workers.celery_app import celery_app, worker_queues

    settings = get_settings()
    if settings.embedded:
        typer.echo("no broker configured: set CLIPSHOE_BROKER__URL (e.g. redis://127.0.0.1:6379/0)", err=True)
        raise typer.Exit(2)
    if pool not in ("threads", "prefork"):
        raise typer.BadParameter("choose threads or prefork", param_hint="--pool")
    concurrency = concurrency or (2 if pool == "threads" else 1)
    try:
        names = ",".join(worker_queues(queues))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queues") from exc
    celery_app.worker_main(
        ["worker", "-Q", names, "--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO"]
    )
