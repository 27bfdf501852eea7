"""Operations: model versions (list, reindex, rollback, prune), consistency (doctor), backups.

`clipshoe models list`, and the top-level `clipshoe reindex | rollback | prune | doctor | backup |
restore`; docs/ops-models.md explains when to use each. Work runs through the Celery workers when a
broker is set, in this process otherwise (then this process must own the embedded store). While
`clipshoe serve` owns it, `--url` asks that server to run them (its /admin endpoints,
clipshoe/commands/remote.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clipshoe.commands import setup_logging
from clipshoe.commands.remote import ApiKeyOption, Remote, UrlOption

if TYPE_CHECKING:
    from clipshoe.runtime import Runtime

app = typer.Typer()
models_app = typer.Typer(help="Model versions and their collections.", no_args_is_help=True)


@contextmanager
def _runtime(command: str | None = None) -> Iterator[Runtime]:
    """The process runtime, migrated, with operational errors turned into a message and exit 1.
    `command`: how to run it through a server instead (`--url`), for when one owns the store."""
    from catalog.backup import BackupError
    from catalog.db import migrate
    from catalog.vector_index import IndexUnavailable, VectorIndexError
    from clipshoe.runtime import get_runtime
    from workers.reindex import OpsError

    setup_logging()
    rt = get_runtime()
    try:
        migrate(rt.settings)
        yield rt
    except IndexUnavailable as exc:
        message = f"{exc}"
        if rt.settings.qdrant.url is None:  # the embedded store: most likely `clipshoe serve` holds it
            host = "127.0.0.1" if rt.settings.api.host in ("0.0.0.0", "::") else rt.settings.api.host
            url = f"http://{host}:{rt.settings.api.port}"
            message += (
                f"\nIf `clipshoe serve` runs on it, ask that server instead: the same command with --url "
                f"{url} (`clipshoe {command} --url {url} …`; add --api-key KEY or set CLIPSHOE_API_KEY "
                "once API keys exist)."
                if command
                else "\nIf `clipshoe serve` runs on it, stop the server first."
            )
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from exc
    except (OpsError, BackupError, VectorIndexError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _bar(desc: str) -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="batch")

    def update(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    return update


@models_app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Registered model versions: state, collection, points, checkpoint hash, scores."""
    if url:
        out = Remote(url, api_key).call("GET", "/admin/models")
    else:
        from workers.operations import registry

        with _runtime("models list") as rt:
            out = registry(rt)
    if as_json:
        typer.echo(json.dumps(out, indent=1))
        return
    if not out:
        typer.echo("no model versions registered yet (ingest a catalogue, or `clipshoe reindex`)")
    for m in out:
        scores = " ".join(f"{k}={v:.3f}" for k, v in (m["scores"] or {}).items() if isinstance(v, float))
        typer.echo(
            f"{m['state']:<9} {m['version']:<40} {m['name']:<24} dim={m['dim']:<4} points={m['points']} "
            f"created={m['created_at']} {scores}".rstrip()
        )
        if m["message"]:
            typer.echo(f"          {m['message']}")


def _read_scores(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    data = json.loads(path.read_text())
    # `clipshoe eval --json` output: keep its metrics and what they were measured on.
    return {**data.get("metrics", data), **{k: data[k] for k in ("mode", "queries") if k in data}}


@app.command()
def reindex(
    model: Annotated[
        str | None, typer.Option(help="Model name (default: CLIPSHOE_ENCODER__MODEL); see `clipshoe eval`.")
    ] = None,
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Rebuild the live model's collection from the catalogue alone.")
    ] = False,
    swap: Annotated[bool, typer.Option(help="Swap the alias once the new collection verifies.")] = True,
    scores: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="`clipshoe eval --json` file to record.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Backfill a model version's collection while the live one serves, verify it, swap the alias."""
    if url:
        remote = Remote(url, api_key)
        body = {"model": model, "swap": swap, "from_db": from_db, "scores": _read_scores(scores)}
        report = remote.follow(remote.call("POST", "/admin/reindex", json=body), model or "reindex")
    else:
        from dataclasses import asdict

        from workers import reindex as ops
        from workers.operations import reindex_target

        with _runtime("reindex") as rt:
            name = reindex_target(rt, model, from_db)
            report = asdict(
                ops.build(
                    rt,
                    name,
                    swap_alias=swap,
                    rebuild_live=from_db,
                    scores=_read_scores(scores),
                    progress=_bar(name),
                )
            )
    typer.echo(
        f"{report['version']}: {report['points']} points for {report['products']} products, "
        f"{report['sampled']} re-encoded (min cosine {report['min_cosine'] or 0:.4f}), "
        f"{report['caught_up']} caught up, {report['seconds']:.1f}s; "
        + (f"alias now points at {report['collection']}" if report["swapped"] else "alias unchanged")
    )


@app.command()
def rollback(url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Swap the alias back to the previous model version (re-embedding what changed since)."""
    if url:
        remote = Remote(url, api_key)
        back = remote.follow(remote.call("POST", "/admin/rollback"), "rollback")
    else:
        from workers import reindex as ops

        with _runtime("rollback") as rt:
            mv = ops.rollback(rt)
        back = {"version": mv.version, "collection": mv.collection}
    typer.echo(f"rolled back: {back['version']} is live again ({back['collection']})")


@app.command()
def prune(
    include_previous: Annotated[
        bool, typer.Option("--include-previous", help="Also delete the previous version (no rollback then).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Delete the collections of retired and failed model versions; live (and previous) stay."""
    if url:
        params = {"include_previous": include_previous, "dry_run": dry_run}
        deleted = Remote(url, api_key).call("POST", "/admin/prune", params=params)["deleted"]
    else:
        from workers import reindex as ops

        with _runtime("prune") as rt:
            deleted = ops.prune(rt, include_previous=include_previous, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {len(deleted)} collection(s)" + "".join(f"\n  {c}" for c in deleted))


@app.command()
def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Fix the drift through the workers.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Compare the catalogue with the vector index: missing, orphaned, stale and out-of-date points."""
    if url:
        remote = Remote(url, api_key)
        answer = remote.call("POST", "/admin/doctor", params={"repair": repair})
        if repair:
            answer = remote.follow(answer, "repair")
        before, after = (answer["before"], answer["after"]) if repair else (answer, answer)
    else:
        from workers import doctor as checks

        with _runtime("doctor") as rt:
            report = checks.check(rt)
            before = report.as_dict()
            if repair and not report.clean:
                report = checks.repair(rt, report, progress=_bar("repair"))
        after = report.as_dict()
    if as_json:
        typer.echo(json.dumps({"before": before, "after": after} if repair else before, indent=1))
    else:
        if repair:
            typer.echo("before repair:")
            _print_report(before)
            typer.echo("after repair:")
        _print_report(after)
    if not after["clean"]:
        raise typer.Exit(1)


def _print_report(r: dict[str, Any]) -> None:
    typer.echo(
        f"  {r['alias']} -> {r['collection']} ({r['model_version']}): "
        f"{r['products']} products, {r['points']} points"
    )
    for problem in r["problems"]:
        typer.echo(f"  problem: {problem}")
    for kind in ("missing", "orphans", "stale", "payload"):
        n, examples = r[kind]["count"], r[kind]["examples"]
        typer.echo(f"  {kind:<8} {n}" + (f"  e.g. {examples}" if n else ""))
    typer.echo("  clean" if r["clean"] else "  drift found (`clipshoe doctor --repair` fixes it)")


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="New folder to write the backup to.")],
    vectors: Annotated[bool, typer.Option(help="Include the vector store.")] = True,
    media: Annotated[bool, typer.Option(help="Include the stored photos.")] = True,
) -> None:
    """Back up the catalogue (pg_dump or SQLite), the vector store and the photos."""
    from catalog.backup import backup as run_backup

    with _runtime() as rt:
        rt.close()  # this process must not hold the embedded store while it is copied
        m = run_backup(rt.settings, dest, vectors=vectors, media=media)
    typer.echo(
        f"backup in {dest}: {m.database} catalogue (schema {m.schema_revision}), "
        f"vectors: {m.vector_store or 'not included'} {m.collections}, photos: {'yes' if m.media else 'no'}"
    )


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A `clipshoe backup` folder.")],
    sql: Annotated[bool, typer.Option(help="Restore the catalogue.")] = True,
    vectors: Annotated[bool, typer.Option(help="Restore the vector store.")] = True,
    media: Annotated[bool, typer.Option(help="Restore the photos.")] = True,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the catalogue and the vector store with a backup's (stop the API and workers first)."""
    from catalog.backup import restore as run_restore

    if not yes:
        typer.confirm("This replaces the current catalogue and vectors. Continue?", abort=True)
    with _runtime() as rt:
        rt.close()
        m = run_restore(rt.settings, source, sql=sql, vectors=vectors, media=media)
    then = "" if vectors else "; now rebuild the vectors: `clipshoe reindex --from-db`"
    typer.echo(f"restored the backup of {m.created_at}{then}")
