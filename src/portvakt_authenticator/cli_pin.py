"""``pin set``, ``pin change`` and ``pin remove``: encrypt the accounts file under a PIN.

With ``--pin-stdin`` the PINs are read as lines of standard input, in the order they would be
asked: ``set`` the new PIN; ``change`` the current PIN, then the new one; ``remove`` the current
PIN."""

from __future__ import annotations

import typer

from portvakt_authenticator.cli_support import (
    CliError,
    PinStdinOption,
    read_new_pin,
    read_pin,
    store,
)
from portvakt_authenticator.i18n import _
from portvakt_authenticator.keystore import check_pin

app = typer.Typer(
    help=_(
        "Protect the accounts with a PIN. The PIN cannot be recovered: without it the "
        "accounts are lost. Approving a sign-in then asks for the PIN (user verification)."
    ),
    no_args_is_help=True,
)


@app.command(name="set", help=_("Set a PIN (the accounts are then stored encrypted)."))
def set_pin(pin_stdin: PinStdinOption = False) -> None:
    keystore = store()
    with keystore.locked():
        if keystore.encrypted():
            raise CliError("pin_already_set")
        vault = keystore.load()
        new = read_new_pin(pin_stdin)
        check_pin(new)
        keystore.set_pin(vault, new)
    typer.echo(_("PIN set. Keep it safe: without it the accounts cannot be opened."))


@app.command(name="change", help=_("Change the PIN."))
def change_pin(pin_stdin: PinStdinOption = False) -> None:
    keystore = store()
    with keystore.locked():
        if not keystore.encrypted():
            raise CliError("no_pin")
        vault = keystore.load(read_pin(pin_stdin, _("Current PIN")))
        new = read_new_pin(pin_stdin)
        check_pin(new)
        keystore.set_pin(vault, new)
    typer.echo(_("PIN changed."))


@app.command(name="remove", help=_("Remove the PIN (the accounts are then stored unencrypted)."))
def remove_pin(pin_stdin: PinStdinOption = False) -> None:
    keystore = store()
    with keystore.locked():
        if not keystore.encrypted():
            raise CliError("no_pin")
        vault = keystore.load(read_pin(pin_stdin, _("Current PIN")))
        keystore.remove_pin(vault)
    typer.echo(_("PIN removed. The accounts file is no longer encrypted."))
