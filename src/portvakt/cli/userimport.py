"""``portvakt user import FILE``: every row valid, or nothing written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from portvakt.cli.common import fail, open_runtime, operator
from portvakt.cli.i18n import N_, _, ngettext
from portvakt.cli.messages import describe
from portvakt.core import userimport
from portvakt.core.userimport import ImportFormat, ImportReport

IMPORT_HELP = "\n\n".join(
    [
        _("Import users from CSV (with a header row) or JSON Lines (.jsonl)."),
        _(
            "Fields: username, display_name, email, phone (E.164), and either password or "
            "password_hash (argon2 or bcrypt); optionally totp_secret (base32) with "
            "totp_algorithm, totp_digits and totp_period, which becomes the person's active "
            "TOTP method."
        ),
        _(
            "Every row is checked first. If any row is rejected, each one is reported with its "
            "line number, nothing is written, and the exit code is 1."
        ),
    ]
)

# The phases ``portvakt.core.userimport`` reports to its progress bar, marked here for
# translation (the core produces no prose for people; the bar translates them when drawn).
PHASES = (N_("Checking rows"), N_("Hashing passwords"), N_("Writing"))


def import_users(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, show_default=False, help=_("File to read.")
        ),
    ],
    fmt: Annotated[
        ImportFormat | None,
        typer.Option("--format", help=_("File format; by default from the file name's suffix.")),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("Check every row, report, write nothing."))
    ] = False,
) -> None:
    started = time.perf_counter()
    with open_runtime() as rt, _progress_bar() as bar:
        report = userimport.import_file(
            rt.core, operator(rt), file, fmt=fmt, dry_run=dry_run, progress=bar
        )
    if report.rejected:
        for rejection in report.rejected:
            text = describe(rejection.code, rejection.detail)
            typer.echo(
                _("line %(line)s: %(message)s") % {"line": rejection.line, "message": text},
                err=True,
            )
        fail(
            ngettext(
                "%(rejected)s of %(num)s row rejected; nothing was imported.",
                "%(rejected)s of %(num)s rows rejected; nothing was imported.",
                report.rows,
            )
            % {"rejected": len(report.rejected), "num": report.rows}
        )
    seconds = time.perf_counter() - started
    if report.written:
        typer.echo(
            ngettext(
                "Imported %(num)s user (%(counts)s) in %(seconds)s s.",
                "Imported %(num)s users (%(counts)s) in %(seconds)s s.",
                report.accepted,
            )
            % {"num": report.accepted, "counts": _counts(report), "seconds": f"{seconds:.1f}"}
        )
    else:
        typer.echo(
            _(
                "Dry run: all %(rows)s rows are valid; %(accepted)s users would be imported "
                "(%(counts)s). Nothing was written."
            )
            % {"rows": report.rows, "accepted": report.accepted, "counts": _counts(report)}
        )


def _counts(report: ImportReport) -> str:
    return _(
        "%(hashes)s with a password hash, %(hashed)s with a new password, "
        "%(without)s without a password, %(totp)s with TOTP"
    ) % {
        "hashes": report.hashes,
        "hashed": report.hashed,
        "without": report.without_password,
        "totp": report.totp,
    }


class _Bar:
    """``userimport.Progress`` drawn by rich on stderr, one bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, phase: str, total: int) -> None:
        self._task = self._progress.add_task(_(phase), total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


@contextmanager
def _progress_bar() -> Iterator[_Bar]:
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn())
    with Progress(
        *columns, TimeElapsedColumn(), console=console, disable=not console.is_terminal
    ) as progress:
        yield _Bar(progress)
