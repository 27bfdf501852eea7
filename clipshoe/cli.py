"""The `clipshoe` command: one Typer app, each area's commands in `clipshoe/commands/`."""

from __future__ import annotations

import typer

from clipshoe.commands import crawl, evaluation, keys, ops, serving, training

app = typer.Typer(
    help="ClipShoe: shoe search by text or photo.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.registered_commands += serving.app.registered_commands
app.registered_commands += training.app.registered_commands
app.registered_groups += training.app.registered_groups
app.add_typer(evaluation.app, name="eval")
app.add_typer(keys.app, name="apikey")
app.add_typer(crawl.app, name="crawl")
app.registered_commands += ops.app.registered_commands
app.add_typer(ops.models_app, name="models")

if __name__ == "__main__":
    app()
