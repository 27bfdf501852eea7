"""API keys for write and admin endpoints: `clipshoe apikey create|revoke`."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="API keys for write and admin endpoints (ingest jobs).", no_args_is_help=True)


@app.command("create")
def create(name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "default") -> None:
    """Create a key and print it once; only its hash is stored."""
    from catalog import repository
    from catalog.db import migrate
    from clipshoe.runtime import get_runtime

    rt = get_runtime()
    migrate(rt.settings)
    with rt.sessions.begin() as s:
        key = repository.create_api_key(s, name)
    typer.echo(key)


@app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="The key's first 10 characters.")]) -> None:
    """Revoke a key by its prefix."""
    from catalog import repository
    from clipshoe.runtime import get_runtime

    with get_runtime().sessions.begin() as s:
        n = repository.revoke_api_key(s, prefix)
    typer.echo(f"revoked {n} key(s)")
    if not n:
        raise typer.Exit(1)
