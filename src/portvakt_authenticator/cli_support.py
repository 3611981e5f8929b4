"""What the commands share: the one place where expected errors become a line on stderr and an
exit code (0 ok, 1 refused or not found, 2 bad input), opening the store with its PIN, reading a
QR code from an image, and printing JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import zxingcpp
from PIL import Image, UnidentifiedImageError
from typer.core import TyperGroup

from portvakt_authenticator.accounts import LookupFailed, UriError
from portvakt_authenticator.client import ClientError
from portvakt_authenticator.display import describe
from portvakt_authenticator.i18n import _
from portvakt_authenticator.keystore import MIN_PIN_LENGTH, Keystore, KeystoreError, Vault

EXIT_FAILED = 1  # refused by the server, not found, nothing to do
EXIT_INVALID = 2  # the input was wrong

BAD_INPUT = {
    "wrong_pin",
    "pin_required",
    "pin_needs_terminal",
    "pin_too_short",
    "pin_mismatch",
    "ambiguous",
    "bad_number",
    "several_requests",
    "not_hotp",
}

JsonOption = Annotated[bool, typer.Option("--json", help=_("Print JSON instead of text."))]
PinStdinOption = Annotated[
    bool,
    typer.Option(
        "--pin-stdin", help=_("Read the PIN from one line of standard input (when one is set).")
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help=_("Do not ask for confirmation."))]


class CliError(Exception):
    def __init__(self, code: str, detail: str = "", *, exit_code: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.exit_code = exit_code or (EXIT_INVALID if code in BAD_INPUT else EXIT_FAILED)


class AuthenticatorGroup(TyperGroup):
    """Root command group: expected errors become one line on stderr, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's vendored click Context is private
        try:
            return super().invoke(ctx)
        except CliError as exc:
            fail(describe(exc.code, exc.detail), code=exc.exit_code)
        except (KeystoreError, ClientError) as exc:
            detail = exc.detail if isinstance(exc, KeystoreError) else exc.message
            code = EXIT_INVALID if exc.code in BAD_INPUT else EXIT_FAILED
            fail(describe(exc.code, detail), code=code)
        except UriError as exc:
            fail(describe(exc.code), code=EXIT_INVALID)
        except LookupFailed as exc:
            names = ", ".join(f"{a.id} ({a.name})" for a in exc.matches)
            code = EXIT_INVALID if exc.code == "ambiguous" else EXIT_FAILED
            fail(describe(exc.code, names), code=code)
        except UnicodeError:
            fail(_("input is not valid UTF-8 text"), code=EXIT_INVALID)
        except BrokenPipeError:
            raise
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}")


def fail(message: str, *, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(_("Error: %(message)s") % {"message": message}, err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(_("Warning: %(message)s") % {"message": message}, err=True)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def store() -> Keystore:
    return Keystore()


def read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise CliError("pin_required")
    return line.rstrip("\r\n")


def read_pin(pin_stdin: bool, prompt: str | None = None) -> str:
    """The PIN from standard input (``--pin-stdin``) or a hidden prompt; never from the
    environment (secrets there leak into other processes and logs)."""
    if pin_stdin:
        return read_line()
    _need_terminal()
    return str(typer.prompt(prompt or _("PIN"), hide_input=True))


def _need_terminal() -> None:
    """A hidden prompt needs a terminal (getpass would echo, or read a pipe meant for data)."""
    if not sys.stdin.isatty():
        raise CliError("pin_needs_terminal")


def read_new_pin(pin_stdin: bool) -> str:
    if pin_stdin:
        return read_line()
    _need_terminal()
    first = str(typer.prompt(_("New PIN"), hide_input=True))
    second = str(typer.prompt(_("Repeat the new PIN"), hide_input=True))
    if first != second:
        raise CliError("pin_mismatch")
    return first


def open_vault(keystore: Keystore, pin_stdin: bool) -> Vault:
    """The accounts; asks for the PIN if the store has one (and only then), and asks for a
    longer one if it was set when shorter PINs were allowed."""
    if not keystore.encrypted():
        return keystore.load()
    vault = keystore.load(read_pin(pin_stdin))
    if vault.short_pin:
        warn(
            _(
                "the PIN is shorter than %(length)s characters; choose a longer one with "
                "“portvakt-authenticator pin change”"
            )
            % {"length": MIN_PIN_LENGTH}
        )
    return vault


def read_qr(path: Path) -> str:
    """The text of the QR code in an image file (a screenshot of the activation page)."""
    try:
        with Image.open(path) as image:
            found = zxingcpp.read_barcodes(image)
    except UnidentifiedImageError as exc:
        raise CliError("not_an_image", exit_code=EXIT_INVALID) from exc
    texts = [str(barcode.text) for barcode in found if barcode.text]
    for text in texts:
        if text.lower().startswith(("portvakt:", "otpauth:")):
            return text
    if texts:
        return texts[0]
    raise CliError("no_qr_code", exit_code=EXIT_INVALID)
