"""The ``portvakt`` command: ``serve``, ``user``, ``db`` and ``config``."""

from __future__ import annotations

from typing import Annotated

import typer

from portvakt import __version__
from portvakt.cli import config, db, user
from portvakt.cli.common import PortvaktGroup
from portvakt.cli.serve import serve

app = typer.Typer(
    name="portvakt",
    cls=PortvaktGroup,
    help="Portvakt: self-hostable two-factor authentication.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
)
app.command()(serve)
app.add_typer(user.app, name="user")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"portvakt {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Settings come from PORTVAKT_* environment variables and the optional TOML file
    ($PORTVAKT_CONFIG, or portvakt.toml in the data folder)."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
