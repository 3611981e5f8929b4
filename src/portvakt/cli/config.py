"""``portvakt config …``: the effective settings (environment over file over defaults)."""

from __future__ import annotations

import typer

from portvakt.cli.common import JsonOption, emit_json, load_settings, table

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command()
def show(as_json: JsonOption = False) -> None:
    """Print the effective settings; secrets and database passwords are masked."""
    shown = load_settings().masked()
    if as_json:
        emit_json(shown)
        return
    rows = [(name, "(not set)" if value is None else str(value)) for name, value in shown.items()]
    for line in table(rows):
        typer.echo(line)
