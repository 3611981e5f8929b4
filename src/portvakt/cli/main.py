"""The ``portvakt`` command: ``serve``, ``user``, ``db``, ``config``, ``integration``,
``client``, ``oidc`` and ``token``."""

from __future__ import annotations

from typing import Annotated

import typer

from portvakt import __version__
from portvakt.cli import client, config, db, integration, oidc, token, user
from portvakt.cli.common import PortvaktGroup
from portvakt.cli.i18n import _
from portvakt.cli.serve import SERVE_HELP, serve

app = typer.Typer(
    name="portvakt",
    cls=PortvaktGroup,
    help="\n\n".join(
        [
            _("Portvakt: self-hostable two-factor authentication."),
            _(
                "Settings come from PORTVAKT_* environment variables and the optional TOML file "
                "($PORTVAKT_CONFIG, or portvakt.toml in the data folder). The language follows "
                "PORTVAKT_LANGUAGE (en or nb), otherwise LC_ALL, LC_MESSAGES or LANG."
            ),
        ]
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
)
app.command(help=SERVE_HELP)(serve)
app.add_typer(user.app, name="user")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")
app.add_typer(integration.app, name="integration")
app.add_typer(client.app, name="client")
app.add_typer(oidc.app, name="oidc")
app.add_typer(token.app, name="token")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"portvakt {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help=_("Print the version.")
        ),
    ] = False,
) -> None:
    """Only ``--version``; the help text is the one given to ``typer.Typer`` above."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
