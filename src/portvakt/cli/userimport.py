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
from portvakt.cli.messages import describe
from portvakt.core import userimport
from portvakt.core.userimport import ImportFormat, ImportReport


def import_users(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, show_default=False, help="File to read."
        ),
    ],
    fmt: Annotated[
        ImportFormat | None,
        typer.Option("--format", help="File format; by default from the file name's suffix."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, report, write nothing.")
    ] = False,
) -> None:
    """Import users from CSV (with a header row) or JSON Lines (.jsonl).

    Fields: username, display_name, email, phone (E.164), and either password or
    password_hash (argon2 or bcrypt); optionally totp_secret (base32) with totp_algorithm,
    totp_digits and totp_period, which becomes the person's active TOTP method.

    Every row is checked first. If any row is rejected, each one is reported with its line
    number, nothing is written, and the exit code is 1.
    """
    started = time.perf_counter()
    with open_runtime() as rt, _progress_bar() as bar:
        report = userimport.import_file(
            rt.core, operator(rt), file, fmt=fmt, dry_run=dry_run, progress=bar
        )
    if report.rejected:
        for rejection in report.rejected:
            typer.echo(
                f"line {rejection.line}: {describe(rejection.code, rejection.detail)}", err=True
            )
        fail(f"{len(report.rejected)} of {report.rows} rows rejected; nothing was imported.")
    seconds = time.perf_counter() - started
    if report.written:
        typer.echo(f"Imported {report.accepted} users ({_counts(report)}) in {seconds:.1f} s.")
    else:
        typer.echo(
            f"Dry run: all {report.rows} rows are valid; {report.accepted} users would be "
            f"imported ({_counts(report)}). Nothing was written."
        )


def _counts(report: ImportReport) -> str:
    return (
        f"{report.hashes} with a password hash, {report.hashed} with a new password, "
        f"{report.without_password} without a password, {report.totp} with TOTP"
    )


class _Bar:
    """``userimport.Progress`` drawn by rich on stderr, one bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, phase: str, total: int) -> None:
        self._task = self._progress.add_task(phase, total=total)

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
