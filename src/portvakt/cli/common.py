"""What every command module shares: settings, the runtime, the audited operator context,
output helpers and the one place where errors become a message and an exit code."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from portvakt.app import Runtime, build
from portvakt.cli.i18n import _
from portvakt.cli.messages import describe
from portvakt.context import Context
from portvakt.domain import Door
from portvakt.errors import Invalid, PortvaktError
from portvakt.settings import Settings

EXIT_FAILED = 1  # the operation was refused (not found, conflict, rejected rows …)
EXIT_INVALID = 2  # the input was wrong (as click does for usage errors)

JsonOption = Annotated[bool, typer.Option("--json", help=_("Print JSON instead of text."))]
StdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help=_("Read the password from one line of standard input.")),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help=_("Do not ask for confirmation."))]


class PortvaktGroup(TyperGroup):
    """Root command group: turns ``PortvaktError`` into one line on stderr and exit 1 or 2."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's vendored click Context is private
        try:
            return super().invoke(ctx)
        except PortvaktError as exc:
            code = EXIT_INVALID if isinstance(exc, Invalid) else EXIT_FAILED
            fail(describe(exc.code, detail_of(exc)), code=code)
        except UnicodeError:  # undecodable bytes in argv or stdin (surrogateescape)
            fail(_("input is not valid UTF-8 text"), code=EXIT_INVALID)
        except BrokenPipeError:
            raise
        except OSError as exc:  # data folder not writable, import file vanished …
            where = f": {exc.filename}" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}")


def detail_of(exc: PortvaktError) -> str:
    text = str(exc)
    return "" if text == exc.code else text


def fail(message: str, *, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(_("Error: %(message)s") % {"message": message}, err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        details = " ".join(str(exc).split())
        fail(_("invalid configuration: %(details)s") % {"details": details}, code=EXIT_INVALID)


@contextmanager
def open_runtime(*, upgrade: bool = True) -> Iterator[Runtime]:
    """Build the runtime (data folder, keys, migrations) and release the database after."""
    runtime = build(load_settings(), upgrade=upgrade)
    try:
        yield runtime
    finally:
        runtime.core.store.dispose()


def operator(runtime: Runtime) -> Context:
    """The audited context of whoever runs the command on this machine."""
    return runtime.context(Door.CLI, actor=f"cli:{_login()}")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no LOGNAME/USER
        return f"uid{os.getuid()}"


def read_password(*, from_stdin: bool, prompt: str | None = None) -> str:
    """One line of stdin (without its line ending), or a hidden prompt asked twice.
    Never from the command line, where ``ps`` and shell history would see it."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise typer.BadParameter(_("standard input is empty"), param_hint="--password-stdin")
        return line.rstrip("\r\n")
    answer: str = typer.prompt(
        prompt or _("Password"),
        hide_input=True,
        confirmation_prompt=_("Repeat for confirmation"),
    )
    return answer


def emit_json(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def table(rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """Left-aligned columns, two spaces apart."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
