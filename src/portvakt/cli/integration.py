"""``portvakt integration …``: API keys for systems that call the validate API (audited as
door=cli). A key is printed once, when it is created; only its keyed hash is stored. An
integration may be trusted for the ``client_ip`` it sends (``--trust-client-ip``)."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from portvakt.cli.common import (
    EXIT_INVALID,
    JsonOption,
    YesOption,
    emit_json,
    fail,
    iso,
    open_runtime,
    operator,
    table,
)
from portvakt.cli.i18n import _
from portvakt.core import integrations
from portvakt.errors import Conflict, Invalid, NotFound, PortvaktError

app = typer.Typer(
    help=_("Add, list, show, change and delete API keys for the validate API."),
    no_args_is_help=True,
)

Name = Annotated[
    str,
    typer.Argument(
        help=_("The integration's name: 1–64 letters, digits or . _ - (such as vpn-gateway)."),
        show_default=False,
    ),
]


TrustAtAdd = Annotated[
    bool,
    typer.Option(
        "--trust-client-ip",
        help=_(
            "Believe the client_ip this integration sends (the end user's address): wrong "
            "codes then count against that address too, and audit rows record it. Only for a "
            "system that sets it itself, such as a VPN gateway."
        ),
    ),
]
TrustAtSet = Annotated[
    bool,
    typer.Option(
        "--trust-client-ip/--no-trust-client-ip",
        help=_("Believe the client_ip this integration sends, or ignore it (the default)."),
        show_default=False,
    ),
]


def _explain(exc: PortvaktError) -> NoReturn:
    if isinstance(exc, Invalid):
        fail(
            _(
                "invalid integration name (1–64 letters, digits or . _ -, starting with a letter "
                "or digit)"
            ),
            code=EXIT_INVALID,
        )
    if isinstance(exc, Conflict):
        fail(_("an integration with this name already exists"))
    if isinstance(exc, NotFound):
        fail(_("no such integration"))
    raise exc


@app.command(help=_("Create an integration and print its API key (shown only this once)."))
def add(name: Name, trust_client_ip: TrustAtAdd = False, as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        try:
            view, key = integrations.add(
                rt.core, operator(rt), name, trust_client_ip=trust_client_ip
            )
        except PortvaktError as exc:
            _explain(exc)
    if as_json:
        emit_json(
            {
                "api_key": key,
                "name": view.name,
                "id": view.id,
                "trust_client_ip": view.trust_client_ip,
            }
        )
        return
    typer.echo(_("Created integration %(name)s (id %(id)s).") % {"name": view.name, "id": view.id})
    if view.trust_client_ip:
        typer.echo(_("It is trusted for the client_ip it sends."))
    typer.echo(_("API key (store it now; it cannot be shown again):"), err=True)
    typer.echo(key)


@app.command("list", help=_("List integrations by name (never their keys)."))
def list_integrations(as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        found = integrations.listing(rt.core)
    if as_json:
        emit_json([_as_dict(i) for i in found])
        return
    if not found:
        typer.echo(_("No integrations. Create one with: portvakt integration add NAME"), err=True)
        return
    # Column names and values stay as they are in every language, for grep and awk.
    rows = [("NAME", "ID", "CREATED", "TRUST_CLIENT_IP")]
    rows += [
        (i.name, str(i.id), i.created_at.isoformat(timespec="seconds"), _yes_no(i)) for i in found
    ]
    for line in table(rows):
        typer.echo(line)


@app.command(help=_("Show one integration (never its key)."))
def show(name: Name, as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        try:
            view = integrations.find(rt.core, name)
        except PortvaktError as exc:
            _explain(exc)
    if as_json:
        emit_json(_as_dict(view))
        return
    for key, value in _as_dict(view).items():
        shown = _yes_no(view) if key == "trust_client_ip" else value
        typer.echo(f"{key}: {shown}")


@app.command(
    "set", help=_("Change an integration: whether it is trusted for the client_ip it sends.")
)
def set_options(name: Name, trust_client_ip: TrustAtSet, as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        try:
            view = integrations.set_trust(
                rt.core, operator(rt), name, trust_client_ip=trust_client_ip
            )
        except PortvaktError as exc:
            _explain(exc)
    if as_json:
        emit_json(_as_dict(view))
        return
    if view.trust_client_ip:
        typer.echo(_("%(name)s is trusted for the client_ip it sends.") % {"name": view.name})
    else:
        typer.echo(_("%(name)s: client_ip is ignored.") % {"name": view.name})


def _as_dict(view: integrations.IntegrationView) -> dict[str, object]:
    return {
        "id": view.id,
        "name": view.name,
        "created_at": iso(view.created_at),
        "trust_client_ip": view.trust_client_ip,
    }


def _yes_no(view: integrations.IntegrationView) -> str:
    return "yes" if view.trust_client_ip else "no"


@app.command(help=_("Delete an integration; its API key stops working at once."))
def delete(name: Name, yes: YesOption = False) -> None:
    with open_runtime() as rt:
        try:
            view = integrations.find(rt.core, name)
            if not yes:
                typer.confirm(
                    _("Delete integration %(name)s and its API key?") % {"name": view.name},
                    abort=True,
                )
            integrations.delete(rt.core, operator(rt), name)
        except PortvaktError as exc:
            _explain(exc)
    typer.echo(_("Deleted integration %(name)s.") % {"name": view.name})
