"""``portvakt token …``: the hardware-token inventory (key fobs, cards and YubiKeys). Tokens
are imported from the vendor's file, then assigned to a person, or claimed by the person on
Security info. Audited as door=cli."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from portvakt.cli.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    JsonOption,
    StdinOption,
    YesOption,
    emit_json,
    fail,
    iso,
    open_runtime,
    operator,
    read_password,
    table,
)
from portvakt.cli.i18n import _, ngettext
from portvakt.cli.tokentext import reason_text
from portvakt.core import tokens
from portvakt.core.tokens import ImportReport, TokenView

app = typer.Typer(
    help=_(
        "Import, list, assign, unassign and delete hardware tokens (OATH key fobs and cards, "
        "YubiKeys)."
    ),
    no_args_is_help=True,
)

Serial = Annotated[
    str, typer.Argument(help=_("The token's serial number (a YubiKey: its public id)."))
]
ImportFile = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, show_default=False, help=_("File to read.")
    ),
]
SUFFIXES = {".xml": "pskc", ".pskc": "pskc", ".pskcxml": "pskc", ".csv": "csv"}
MAX_FILE = 50 * 1024 * 1024


def _read(file: Path) -> bytes:
    if file.stat().st_size > MAX_FILE:
        fail(_("the file is larger than 50 MB"), code=EXIT_INVALID)
    return file.read_bytes()


def _key(key_file: Path | None) -> bytes | None:
    if key_file is None:
        return None
    text = "".join(key_file.read_text(encoding="ascii", errors="replace").split())
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) not in (16, 24, 32):
        fail(_("the key file must hold an AES key as hex (32, 48 or 64 digits)"), code=2)
    return key


@app.command(
    "import",
    help=_(
        "Import OATH tokens from PSKC (RFC 6030; plain, pre-shared key or password-based "
        "encryption) or CSV: serial, secret (hex or base32), hotp or totp, digits, and the TOTP "
        "period or the HOTP counter. All or nothing: every rejected token is reported."
    ),
)
def import_tokens(
    file: ImportFile,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help=_("pskc or csv; by default from the file name (.xml, .pskc, .pskcxml, .csv)."),
        ),
    ] = None,
    password_stdin: StdinOption = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            exists=True,
            dir_okay=False,
            help=_("A file holding the pre-shared AES key of an encrypted PSKC file, as hex."),
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    fmt = fmt or SUFFIXES.get(file.suffix.lower())
    if fmt not in ("pskc", "csv"):
        fail(_("cannot tell the format from the file name; use --format pskc|csv"), code=2)
    data = _read(file)
    password = read_password(from_stdin=True) if password_stdin else None
    with open_runtime() as rt:
        ctx = operator(rt)
        report = tokens.import_file(
            rt.core, ctx, fmt=fmt, data=data, password=password, key=_key(key_file)
        )
        if not password_stdin and _asks_password(report) and sys.stdin.isatty():
            password = typer.prompt(_("Password of the file"), hide_input=True)
            report = tokens.import_file(rt.core, ctx, fmt=fmt, data=data, password=password)
    _report(report, as_json=as_json)


def _asks_password(report: ImportReport) -> bool:
    return any(r.reason == "password_needed" for r in report.rejected)


@app.command(
    "import-yubico",
    help=_(
        "Import YubiKeys in Yubico OTP mode from the YubiKey personalization tool's CSV log "
        "(traditional or Yubico format): public id, private id and AES key of each. All or "
        "nothing: every rejected row is reported."
    ),
)
def import_yubico(file: ImportFile, as_json: JsonOption = False) -> None:
    data = _read(file)
    with open_runtime() as rt:
        report = tokens.import_file(rt.core, operator(rt), fmt="yubico-csv", data=data)
    _report(report, as_json=as_json)


def _report(report: ImportReport, *, as_json: bool) -> None:
    if as_json:
        rejected = [
            {"where": r.where, "reason": r.reason, "message": reason_text(r.reason)}
            for r in report.rejected
        ]
        emit_json({"kind": report.kind, "imported": list(report.imported), "rejected": rejected})
    elif report.rejected:
        for r in report.rejected:
            typer.echo(f"{r.where}: {reason_text(r.reason)}", err=True)
    if report.rejected:
        if not as_json:
            message = ngettext(
                "%(num)s problem found; nothing was imported.",
                "%(num)s problems found; nothing was imported.",
                len(report.rejected),
            )
            typer.echo(message % {"num": len(report.rejected)}, err=True)
        raise typer.Exit(EXIT_FAILED)
    if not as_json:
        n = len(report.imported)
        message = ngettext("Imported %(num)s token.", "Imported %(num)s tokens.", n)
        typer.echo(message % {"num": n})


def _as_dict(token: TokenView) -> dict[str, object]:
    params = {k: v for k, v in token.params.items() if k != "serial"}
    return {
        "serial": token.serial,
        "kind": token.kind,
        "assigned_to": token.username,
        "imported_at": iso(token.imported_at),
        "params": params,
    }


@app.command(
    "list", help=_("List the tokens in the inventory and who holds each (never their secrets).")
)
def list_tokens(
    unassigned: Annotated[
        bool, typer.Option("--unassigned", help=_("Only tokens nobody holds."))
    ] = False,
    as_json: JsonOption = False,
) -> None:
    with open_runtime() as rt:
        found = tokens.listing(rt.core)
    if unassigned:
        found = [t for t in found if t.credential_id is None]
    if as_json:
        emit_json([_as_dict(t) for t in found])
        return
    if not found:
        typer.echo(_("No tokens. Import some with: portvakt token import FILE"), err=True)
        return
    rows = [("SERIAL", "KIND", "ASSIGNED_TO", "IMPORTED")]
    rows += [
        (t.serial, t.kind, t.username or "-", t.imported_at.isoformat(timespec="seconds"))
        for t in found
    ]
    for line in table(rows):
        typer.echo(line)


@app.command(help=_("Show one token (never its secret)."))
def show(serial: Serial, as_json: JsonOption = False) -> None:
    with open_runtime() as rt:
        token = tokens.find(rt.core, serial)
    if as_json:
        emit_json(_as_dict(token))
        return
    for key, value in _as_dict(token).items():
        typer.echo(f"{key}: {'-' if value is None else value}")


@app.command(
    help=_("Give an unassigned token to a person: it becomes one of their sign-in methods.")
)
def assign(
    serial: Serial,
    username: Annotated[str, typer.Argument(help=_("The person who gets the token."))],
    as_json: JsonOption = False,
) -> None:
    with open_runtime() as rt:
        token = tokens.assign(rt.core, operator(rt), serial, username)
    if as_json:
        emit_json(_as_dict(token))
        return
    typer.echo(_("Assigned %(serial)s to %(user)s.") % {"serial": serial, "user": username})


@app.command(help=_("Take a token back: the person can no longer sign in with it."))
def unassign(serial: Serial, yes: YesOption = False) -> None:
    with open_runtime() as rt:
        token = tokens.find(rt.core, serial)
        if not yes and token.username:
            question = _("Take %(serial)s from %(user)s?")
            typer.confirm(question % {"serial": serial, "user": token.username}, abort=True)
        tokens.unassign(rt.core, operator(rt), serial)
    typer.echo(_("%(serial)s is back in the inventory.") % {"serial": serial})


@app.command(help=_("Delete a token from the inventory (and from the person holding it)."))
def delete(serial: Serial, yes: YesOption = False) -> None:
    with open_runtime() as rt:
        tokens.find(rt.core, serial)
        if not yes:
            typer.confirm(_("Delete token %(serial)s?") % {"serial": serial}, abort=True)
        tokens.delete(rt.core, operator(rt), serial)
    typer.echo(_("Deleted token %(serial)s.") % {"serial": serial})


@app.command(
    help=_(
        "Resynchronise a token whose counter or clock has run far ahead: give two codes it shows"
        " one after the other."
    )
)
def resync(
    serial: Serial,
    codes: Annotated[list[str], typer.Argument(help=_("Two consecutive codes of the token."))],
) -> None:
    with open_runtime() as rt:
        tokens.resync(rt.core, operator(rt), serial, codes)
    typer.echo(_("%(serial)s is in step again.") % {"serial": serial})
