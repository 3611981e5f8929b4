"""``portvakt user tap``: a temporary access pass after a lost phone (docs/methods/tap.md).
The kind is the one the registry says an operator issues; this module never names it."""

from __future__ import annotations

from typing import Annotated

import typer

from portvakt.cli.common import JsonOption, emit_json, iso, open_runtime, operator
from portvakt.cli.i18n import _, ngettext
from portvakt.core import passes

TAP_HELP = _(
    "Issue a temporary access pass (after a lost phone): with it the person signs in instead "
    "of the second factor and may only add a new method. A new pass replaces the old one."
)


def tap(
    username: Annotated[str, typer.Argument(help=_("The person's username."), show_default=False)],
    hours: Annotated[
        int | None,
        typer.Option(
            min=1, help=_("Hours it works (settings: default_hours, max_hours of methods.tap).")
        ),
    ] = None,
    uses: Annotated[
        int | None,
        typer.Option(
            min=1, help=_("Sign-ins it allows (settings: default_uses, max_uses of methods.tap).")
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    with open_runtime() as rt:
        issued = passes.issue(rt.core, operator(rt), username=username, hours=hours, uses=uses)
    if as_json:
        emit_json(
            {
                "username": issued.username,
                "pass": issued.shown,
                "expires_at": iso(issued.expires_at),
                "uses": issued.uses,
            }
        )
        return
    typer.echo(
        _("Temporary access pass for %(name)s: %(pass)s")
        % {"name": issued.username, "pass": issued.shown}
    )
    typer.echo(
        ngettext(
            "It works until %(time)s for %(num)s sign-in, and is shown only now.",
            "It works until %(time)s for %(num)s sign-ins, and is shown only now.",
            issued.uses,
        )
        % {"time": iso(issued.expires_at), "num": issued.uses}
    )
    if issued.replaced:
        typer.echo(_("The earlier pass no longer works."))
