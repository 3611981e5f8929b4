"""``portvakt config …``: the effective settings (environment over file over defaults)."""

from __future__ import annotations

import typer

from portvakt.cli.common import JsonOption, emit_json, load_settings, table
from portvakt.cli.i18n import _

app = typer.Typer(help=_("Show the effective configuration."), no_args_is_help=True)


@app.command(help=_("Print the effective settings; secrets and database passwords are masked."))
def show(as_json: JsonOption = False) -> None:
    shown = load_settings().masked()
    if as_json:
        emit_json(shown)
        return
    rows = [(name, _text(value)) for name, value in shown.items()]
    for line in table(rows):
        typer.echo(line)


def _text(value: object) -> str:
    if value is None:
        return _("(not set)")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or _("(none)")
    return str(value)
