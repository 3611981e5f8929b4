"""``portvakt oidc …``: the OpenID Connect provider's signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

from portvakt.cli.common import JsonOption, YesOption, emit_json, iso, open_runtime, operator, table
from portvakt.cli.i18n import _
from portvakt.core.oidc import keys

app = typer.Typer(help=_("Show and rotate the ID-token signing keys."), no_args_is_help=True)

Immediately = Annotated[
    bool,
    typer.Option(
        "--immediately",
        help=_("Switch now and withdraw the old keys at once (a leaked key); apps must refetch."),
    ),
]


@app.command("keys", help=_("List the signing keys in the JWKS and when each signs."))
def list_keys(as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        found = keys.published(rt.core, operator(rt))
    data = [
        {
            "kid": k.kid,
            "alg": k.alg,
            "created_at": iso(k.created_at),
            "signs_from": iso(k.not_before),
            "withdrawn_at": iso(k.expires_at) if k.expires_at else None,
        }
        for k in found
    ]
    if as_json:
        emit_json(data)
        return
    if not data:
        typer.echo(
            _("No keys yet; the first ones are made when an app first needs them."), err=True
        )
        return
    rows = [("KID", "ALG", "SIGNS_FROM", "WITHDRAWN_AT")]
    rows += [
        (str(d["kid"]), str(d["alg"]), str(d["signs_from"]), str(d["withdrawn_at"] or "-"))
        for d in data
    ]
    for line in table(rows):
        typer.echo(line)


@app.command("rotate-keys", help=_("Make new signing keys; they sign once apps have seen them."))
def rotate_keys(immediately: Immediately = False, yes: YesOption = False) -> None:
    if immediately and not yes:
        typer.confirm(
            _("Withdraw the current keys now? ID tokens already issued stop verifying."), abort=True
        )
    with open_runtime() as rt:
        made = keys.rotate(rt.core, operator(rt), immediately=immediately)
    for kid in made:
        typer.echo(kid)
