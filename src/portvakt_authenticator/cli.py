"""The ``portvakt-authenticator`` command: add accounts from a QR code or URI, show codes,
answer push sign-in requests, protect the accounts with a PIN, and the full-screen ``tui``."""

from __future__ import annotations

import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from portvakt_authenticator import __version__, cli_pin, cli_push
from portvakt_authenticator.accounts import (
    Account,
    AccountKind,
    OtpAccount,
    PushAccount,
    find,
    parse_uri,
)
from portvakt_authenticator.backend import CodeRow, LocalBackend, code_rows
from portvakt_authenticator.cli_support import (
    AuthenticatorGroup,
    CliError,
    JsonOption,
    PinStdinOption,
    YesOption,
    open_vault,
    print_json,
    read_qr,
    store,
)
from portvakt_authenticator.client import PushClient
from portvakt_authenticator.i18n import _

app = typer.Typer(
    name="portvakt-authenticator",
    cls=AuthenticatorGroup,
    help="\n\n".join(
        [
            _("Portvakt Authenticator: sign-in codes and push approvals."),
            _(
                "Accounts are kept in accounts.json in $PORTVAKT_AUTHENTICATOR_HOME, otherwise "
                "$XDG_CONFIG_HOME/portvakt-authenticator. The language follows "
                "PORTVAKT_LANGUAGE (en or nb), otherwise LC_ALL, LC_MESSAGES or LANG."
            ),
        ]
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold PINs and keys
)
cli_push.register(app)
app.add_typer(cli_pin.app, name="pin")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"portvakt-authenticator {__version__}")
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


def account_json(account: Account) -> dict[str, Any]:
    """What ``list --json`` shows: never a secret or a private key."""
    data: dict[str, Any] = {
        "id": account.id,
        "type": account.kind.value,
        "name": account.name,
        "issuer": account.issuer,
        "label": account.label,
        "created": account.created,
    }
    if isinstance(account, PushAccount):
        data |= {
            "server": account.server,
            "device_id": account.device_id,
            "capabilities": list(account.capabilities),
        }
    else:
        data |= {"algorithm": account.algorithm, "digits": account.digits}
        if account.kind is AccountKind.TOTP:
            data["period"] = account.period
        else:
            data["counter"] = account.counter
    return data


@app.command(help=_("Add an account from a QR code image or a URI (otpauth:// or portvakt://)."))
def add(
    source: Annotated[
        str, typer.Argument(metavar="IMAGE_OR_URI", help=_("An image file or the URI itself."))
    ],
    device_name: Annotated[
        str | None,
        typer.Option(help=_("The name of this device on the Security info page.")),
    ] = None,
    pin_stdin: PinStdinOption = False,
) -> None:
    text = read_qr(Path(source)) if Path(source).is_file() else source
    parsed = parse_uri(text)
    keystore = store()
    with keystore.locked():
        vault = open_vault(keystore, pin_stdin)
        if isinstance(parsed, OtpAccount):
            vault.accounts.append(parsed)
            keystore.save(vault)
            typer.echo(_("Added %(name)s (%(id)s).") % {"name": parsed.name, "id": parsed.id})
            return
        name = device_name or platform.node() or "Portvakt Authenticator"
        with PushClient() as client:
            account = client.register(parsed, device_name=name)
        vault.accounts.append(account)
        keystore.save(vault)
    _after_registration(account)


def _after_registration(account: PushAccount) -> None:
    typer.echo(
        _("Registered with %(server)s as %(name)s (%(id)s).")
        % {"server": account.server, "name": account.name, "id": account.id}
    )
    typer.echo(
        _(
            "Finish on the Security info page: it shows a number. Approve the test request "
            "with: portvakt-authenticator approve --number NUMBER"
        )
    )


@app.command(name="list", help=_("List the accounts (no secrets are shown)."))
def list_accounts(json_output: JsonOption = False, pin_stdin: PinStdinOption = False) -> None:
    vault = open_vault(store(), pin_stdin)
    if json_output:
        print_json({"accounts": [account_json(a) for a in vault.accounts]})
        return
    if not vault.accounts:
        typer.echo(_("No accounts yet. Add one with: portvakt-authenticator add IMAGE_OR_URI"))
        return
    for account in vault.accounts:
        where = f"  {account.server}" if isinstance(account, PushAccount) else ""
        typer.echo(f"{account.id}  {account.kind.value:<4}  {account.name}{where}")


@app.command(
    help=_(
        "Show the current TOTP codes and the seconds each stays valid. HOTP accounts show "
        "their counter; --next ACCOUNT shows the next HOTP code and moves the counter on."
    )
)
def codes(
    json_output: JsonOption = False,
    next_for: Annotated[
        str | None,
        typer.Option("--next", metavar="ACCOUNT", help=_("Use the next code of a HOTP account.")),
    ] = None,
    pin_stdin: PinStdinOption = False,
) -> None:
    if next_for is not None:
        _next_hotp(next_for, json_output=json_output, pin_stdin=pin_stdin)
        return
    vault = open_vault(store(), pin_stdin)
    rows = code_rows(vault.accounts, time.time())
    if json_output:
        print_json({"codes": [_code_json(row) for row in rows]})
        return
    if not rows:
        typer.echo(_("No code accounts."))
    for row in rows:
        if row.kind is AccountKind.TOTP:
            left = _("%(seconds)ss left") % {"seconds": row.seconds_left}
            typer.echo(f"{row.account_id}  {row.code}  {left:>10}  {row.name}")
        else:
            counter = _("counter %(counter)s") % {"counter": row.counter}
            typer.echo(f"{row.account_id}  {counter}  {row.name}  (codes --next {row.account_id})")


def _code_json(row: CodeRow) -> dict[str, Any]:
    data: dict[str, Any] = {"id": row.account_id, "name": row.name, "type": row.kind.value}
    if row.kind is AccountKind.TOTP:
        return data | {"code": row.code, "seconds_left": row.seconds_left, "period": row.period}
    return data | {"counter": row.counter}


def _next_hotp(query: str, *, json_output: bool, pin_stdin: bool) -> None:
    keystore = store()
    with keystore.locked():
        vault = open_vault(keystore, pin_stdin)
        account = find(vault.accounts, query)
        if not isinstance(account, OtpAccount) or account.kind is not AccountKind.HOTP:
            raise CliError("not_hotp")
        code = account.hotp()
        index = vault.accounts.index(account)
        vault.accounts[index] = replace(account, counter=account.counter + 1)  # RFC 4226 §7.2
        keystore.save(vault)
    if json_output:
        print_json({"id": account.id, "name": account.name, "code": code})
    else:
        typer.echo(f"{code}  {account.name}")


@app.command(help=_("Remove an account from this device."))
def remove(
    account_query: Annotated[
        str, typer.Argument(metavar="ACCOUNT", help=_("The id or name of the account."))
    ],
    yes: YesOption = False,
    pin_stdin: PinStdinOption = False,
) -> None:
    keystore = store()
    with keystore.locked():
        vault = open_vault(keystore, pin_stdin)
        account = find(vault.accounts, account_query)
        if not yes:
            question = _("Remove %(name)s from this device?") % {"name": account.name}
            typer.confirm(question, abort=True)
        vault.accounts = [a for a in vault.accounts if a.id != account.id]
        keystore.save(vault)
    typer.echo(_("Removed %(name)s from this device.") % {"name": account.name})
    if isinstance(account, PushAccount):
        typer.echo(
            _(
                "Also delete this device under Security info on %(server)s, so that it no "
                "longer receives sign-in requests."
            )
            % {"server": account.server}
        )
    else:
        typer.echo(_("If the service still asks for codes from this account, turn them off there."))


@app.command(help=_("Open the full-screen app: codes, connection state and sign-in requests."))
def tui() -> None:
    from portvakt_authenticator.tui import AuthenticatorApp  # textual only for this command

    keystore = store()  # the PIN is asked at the terminal (stdin belongs to the app)
    backend = LocalBackend(keystore, open_vault(keystore, pin_stdin=False))
    try:
        AuthenticatorApp(backend).run()
    finally:
        backend.close()


def main() -> None:
    app()
