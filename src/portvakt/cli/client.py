"""``portvakt client …``: apps that sign people in through Portvakt's OpenID Connect provider
(audited as door=cli). A confidential client's secret is printed once, when it is created or
rotated; only its keyed hash is stored."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from portvakt.cli.common import JsonOption, YesOption, emit_json, open_runtime, operator, table
from portvakt.cli.i18n import _
from portvakt.core.oidc import clients
from portvakt.core.oidc.clients import ClientView, NewClient
from portvakt.core.oidc.levels import Level

app = typer.Typer(
    help=_("Register, list, show, rotate the secret of and delete OpenID Connect apps."),
    no_args_is_help=True,
)


class Required(enum.StrEnum):
    pwd = "pwd"
    mfa = "mfa"
    phr = "phr"


class Alg(enum.StrEnum):
    ES256 = "ES256"
    RS256 = "RS256"


Name = Annotated[str, typer.Argument(help=_('The app\'s name, such as "Staff portal".'))]
Which = Annotated[str, typer.Argument(help=_("The app's name or client_id."))]
RedirectUris = Annotated[
    list[str] | None,
    typer.Option(
        "--redirect-uri",
        help=_("Where the app receives sign-ins; exact match. Repeat for more than one."),
    ),
]
LogoutUris = Annotated[
    list[str] | None,
    typer.Option(
        "--post-logout-redirect-uri",
        help=_("Where the app may send people after signing out. Repeat for more than one."),
    ),
]
Public = Annotated[
    bool,
    typer.Option(
        "--public", help=_("A public app (mobile, desktop, single-page): no secret, PKCE only.")
    ),
]
Scopes = Annotated[
    list[str] | None,
    typer.Option(
        "--scope", help=_("A scope the app may ask for (default: openid profile email phone).")
    ),
]
Require = Annotated[
    Required,
    typer.Option(
        "--require",
        help=_(
            "The weakest sign-in the app accepts: pwd, mfa (second factor) or phr (security key)."
        ),
    ),
]
ClientCredentials = Annotated[
    bool,
    typer.Option("--client-credentials", help=_("Also allow the client-credentials grant.")),
]
IdTokenAlg = Annotated[Alg, typer.Option("--id-token-alg", help=_("ID token signature."))]
WithoutPkce = Annotated[
    bool,
    typer.Option(
        "--allow-without-pkce",
        help=_(
            "Let a confidential app that cannot send PKCE sign people in without it, if it "
            "sends a nonce (Moodle's auth_oidc). Not for public apps."
        ),
    ),
]


def _as_dict(view: ClientView, secret: str | None = None) -> dict[str, Any]:
    out = view.as_dict()
    if secret is not None:
        out["client_secret"] = secret
    return out


@app.command(help=_("Register an app; prints its client_id and (unless public) its secret, once."))
def add(  # noqa: PLR0913, PLR0917 - one option per registration field
    name: Name,
    redirect_uri: RedirectUris = None,
    post_logout_redirect_uri: LogoutUris = None,
    public: Public = False,
    scope: Scopes = None,
    require: Require = Required.pwd,
    client_credentials: ClientCredentials = False,
    id_token_alg: IdTokenAlg = Alg.ES256,
    allow_without_pkce: WithoutPkce = False,
    as_json: JsonOption = False,
) -> None:
    new = NewClient(
        name=name,
        redirect_uris=tuple(redirect_uri or ()),
        post_logout_uris=tuple(post_logout_redirect_uri or ()),
        public=public,
        scopes=tuple(scope) if scope else clients.DEFAULT_SCOPES,
        client_credentials=client_credentials,
        required_level=Level[require.value.upper()],
        id_token_alg=id_token_alg.value,
        allow_without_pkce=allow_without_pkce,
    )
    with open_runtime() as rt:
        view, secret = clients.add(rt.core, operator(rt), new)
    if as_json:
        emit_json(_as_dict(view, secret))
        return
    typer.echo(_("Registered %(name)s.") % {"name": view.name})
    typer.echo(f"client_id: {view.client_id}")
    if secret is not None:
        typer.echo(_("Client secret (store it now; it cannot be shown again):"), err=True)
        typer.echo(f"client_secret: {secret}")


@app.command("list", help=_("List registered apps (never their secrets)."))
def list_clients(as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        found = clients.listing(rt.core)
    if as_json:
        emit_json([c.as_dict() for c in found])
        return
    if not found:
        typer.echo(
            _("No apps. Register one with: portvakt client add NAME --redirect-uri URI"), err=True
        )
        return
    rows = [("NAME", "CLIENT_ID", "TYPE", "REQUIRE", "REDIRECT_URIS")]
    for c in found:
        kind = "public" if c.public else "confidential"
        rows.append(
            (c.name, c.client_id, kind, c.required_level.name.lower(), " ".join(c.redirect_uris))
        )
    for line in table(rows):
        typer.echo(line)


@app.command(help=_("Show one app's registration."))
def show(which: Which, as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        view = clients.find(rt.core, which)
    if as_json:
        emit_json(view.as_dict())
        return
    for key, value in view.as_dict().items():
        shown = " ".join(value) if isinstance(value, list) else value
        typer.echo(f"{key}: {shown}")


@app.command(
    "rotate-secret", help=_("Give an app a new secret; the old one stops working at once.")
)
def rotate_secret(which: Which, yes: YesOption = False, as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        view = clients.find(rt.core, which)
        if not yes and not as_json:
            message = _(
                "Replace the secret of %(name)s? The app stops working until it has the new one."
            )
            typer.confirm(message % {"name": view.name}, abort=True)
        view, secret = clients.rotate_secret(rt.core, operator(rt), which)
    if as_json:
        emit_json(_as_dict(view, secret))
        return
    typer.echo(_("Client secret (store it now; it cannot be shown again):"), err=True)
    typer.echo(f"client_secret: {secret}")


@app.command(help=_("Delete an app with every token issued to it."))
def delete(which: Which, yes: YesOption = False) -> None:
    with open_runtime() as rt:
        view = clients.find(rt.core, which)
        if not yes:
            typer.confirm(
                _("Delete app %(name)s and sign it out everywhere?") % {"name": view.name},
                abort=True,
            )
        clients.delete(rt.core, operator(rt), which)
    typer.echo(_("Deleted app %(name)s.") % {"name": view.name})
