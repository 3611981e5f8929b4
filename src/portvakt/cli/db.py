"""``portvakt db …``: apply and inspect the database migrations."""

from __future__ import annotations

import typer

from portvakt.cli.common import JsonOption, emit_json, open_runtime
from portvakt.cli.i18n import _
from portvakt.store import migrate

app = typer.Typer(help=_("Apply and inspect database migrations."), no_args_is_help=True)


@app.command(help=_("Apply every pending migration (serve and the user commands also do this)."))
def upgrade() -> None:
    with open_runtime(upgrade=False) as rt:
        engine = rt.core.store.engine
        before = migrate.current(engine)
        migrate.upgrade(engine)
        after = migrate.current(engine)
    if before == after:
        typer.echo(
            _("Database already at the newest revision (%(revision)s).") % {"revision": after}
        )
    else:
        typer.echo(
            _("Database upgraded from %(before)s to %(after)s.")
            % {"before": before or _("(empty)"), "after": after}
        )


@app.command(help=_("Show the database's revision and the newest one this version knows."))
def current(as_json: JsonOption = False) -> None:
    with open_runtime(upgrade=False) as rt:
        engine = rt.core.store.engine
        now, head = migrate.current(engine), migrate.head(engine)
        database = rt.settings.masked()["database"]
    if as_json:
        emit_json({"database": database, "current": now, "head": head, "up_to_date": now == head})
        return
    # The labels are the JSON keys (not translated); the verdict is for people.
    empty = _("(empty)")
    typer.echo(f"database  {database}")
    typer.echo(f"current   {now or empty}")
    typer.echo(f"head      {head}")
    typer.echo(_("up to date") if now == head else _("behind: run `portvakt db upgrade`"))
