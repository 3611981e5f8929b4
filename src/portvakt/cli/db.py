"""``portvakt db …``: apply and inspect the database migrations."""

from __future__ import annotations

import typer

from portvakt.cli.common import JsonOption, emit_json, open_runtime
from portvakt.store import migrate

app = typer.Typer(help="Apply and inspect database migrations.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply every pending migration (serve and the user commands also do this)."""
    with open_runtime(upgrade=False) as rt:
        engine = rt.core.store.engine
        before = migrate.current(engine)
        migrate.upgrade(engine)
        after = migrate.current(engine)
    if before == after:
        typer.echo(f"Database already at the newest revision ({after}).")
    else:
        typer.echo(f"Database upgraded from {before or '(empty)'} to {after}.")


@app.command()
def current(as_json: JsonOption = False) -> None:
    """Show the database's revision and the newest one this version knows."""
    with open_runtime(upgrade=False) as rt:
        engine = rt.core.store.engine
        now, head = migrate.current(engine), migrate.head(engine)
        database = rt.settings.masked()["database"]
    if as_json:
        emit_json({"database": database, "current": now, "head": head, "up_to_date": now == head})
        return
    typer.echo(f"database  {database}")
    typer.echo(f"current   {now or '(empty)'}")
    typer.echo(f"head      {head}")
    typer.echo("up to date" if now == head else "behind: run `portvakt db upgrade`")
