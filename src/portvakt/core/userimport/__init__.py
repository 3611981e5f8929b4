"""Bulk import of people from CSV (with a header row) or JSON Lines.

All or nothing: every row is checked first (username, duplicates in the file and in the
database, profile, password policy or hash format, TOTP seed and parameters). If any row is
rejected nothing is written. Otherwise the users, and any imported TOTP seeds (sealed like every
other secret, as active default credentials), go in with bulk inserts in one transaction with
one ``user.imported`` audit event. Plaintext passwords cost one argon2id hash each, so worker
processes on every core hash them before the transaction starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.userimport import bulk
from portvakt.core.userimport.rows import (
    FIELDS,
    ImportFormat,
    Progress,
    Rejection,
    Silent,
    check_rows,
    guess_format,
    read_file,
)
from portvakt.errors import Invalid
from portvakt.store.repos import users

__all__ = [
    "FIELDS",
    "ImportFormat",
    "ImportReport",
    "Progress",
    "Rejection",
    "guess_format",
    "import_file",
]


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int  # rows read, rejected ones included
    accepted: int  # rows that passed every check
    rejected: tuple[Rejection, ...]  # sorted by line; any rejection means nothing was written
    hashed: int  # plaintext passwords (hashed with argon2id)
    hashes: int  # existing argon2/bcrypt hashes taken over
    without_password: int
    totp: int  # imported TOTP seeds
    written: bool


def import_file(
    core: Core,
    ctx: Context,
    path: Path,
    *,
    fmt: ImportFormat | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row; if none is rejected and this is not a dry run, write them all.

    File-level problems (unknown format or columns, not UTF-8, no rows) raise ``Invalid``;
    row-level problems are returned in ``ImportReport.rejected``.
    """
    shown = progress or Silent()
    records, unreadable = read_file(path, fmt)
    if not records and not unreadable:
        raise Invalid("no_rows")
    rows, invalid = check_rows(records, shown)
    with core.store.read() as s:
        taken = users.existing_usernames(s, [r.username for r in rows])
    exists = [Rejection(r.line, "user_exists", r.username) for r in rows if r.username in taken]
    rejected = sorted([*unreadable, *invalid, *exists], key=lambda r: r.line)
    plain = [r.password for r in rows if r.password is not None]
    written = not rejected and not dry_run
    if written:
        hashed = bulk.hash_all(plain, shown)
        bulk.write(core, ctx, rows, hashed, shown, source=path.name)
    return ImportReport(
        rows=len(records) + len(unreadable),
        accepted=len(rows) - len(exists),
        rejected=tuple(rejected),
        hashed=len(plain),
        hashes=sum(1 for r in rows if r.password_hash is not None),
        without_password=sum(1 for r in rows if r.password is None and r.password_hash is None),
        totp=sum(1 for r in rows if r.seed is not None),
        written=written,
    )
