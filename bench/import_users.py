"""Time ``portvakt user import`` on a generated file (default: 100,000 users with argon2 hashes).

    .venv/bin/python bench/import_users.py                      # 100k rows, CSV, SQLite
    .venv/bin/python bench/import_users.py --totp-every 10      # every 10th row with a seed
    .venv/bin/python bench/import_users.py --plaintext 200      # 200 rows hashed on import
    .venv/bin/python bench/import_users.py --format jsonl --rows 20000

Every row reuses one precomputed argon2id hash string, so the file costs nothing to build and
the measurement is the import itself: parsing, checking every row, bulk inserts, one commit.
The command runs as a separate process against a fresh data folder, as an operator would run
it; the database is migrated first (not timed), and the user count is checked afterwards.
``--database-url`` points it at an empty database elsewhere (PostgreSQL) instead of SQLite.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from portvakt.app import build
from portvakt.crypto.hashing import hash_password
from portvakt.settings import Settings
from portvakt.store.repos import users


def make_rows(count: int, *, totp_every: int, plaintext: int) -> list[dict[str, Any]]:
    shared_hash = hash_password("benchmark password")
    rows: list[dict[str, Any]] = []
    for i in range(count):
        row: dict[str, Any] = {
            "username": f"user{i:07d}",
            "display_name": f"User {i}",
            "email": f"user{i:07d}@example.org",
        }
        if i < plaintext:
            row["password"] = f"plaintext passphrase {i}"
        else:
            row["password_hash"] = shared_hash
        if totp_every and i % totp_every == 0:
            row["totp_secret"] = base64.b32encode(secrets.token_bytes(20)).decode()
        rows.append(row)
    return rows


def write_file(path: Path, rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        return
    columns = ["username", "display_name", "email", "password", "password_hash", "totp_secret"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def portvakt_command() -> list[str]:
    script = Path(sys.executable).with_name("portvakt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "portvakt.cli.main"]


def run(args: argparse.Namespace, workdir: Path) -> None:
    data_dir = workdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    env["PORTVAKT_DATA_DIR"] = str(data_dir)
    if args.database_url:
        env["PORTVAKT_DATABASE_URL"] = args.database_url
    command = portvakt_command()

    started = time.perf_counter()
    rows = make_rows(args.rows, totp_every=args.totp_every, plaintext=args.plaintext)
    path = workdir / f"people.{args.format}"
    write_file(path, rows, args.format)
    size_mb = path.stat().st_size / 1e6
    print(
        f"generated {args.rows:,} rows ({size_mb:.1f} MB) in {time.perf_counter() - started:.1f} s"
    )

    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)

    started = time.perf_counter()
    done = subprocess.run([*command, "user", "import", str(path)], env=env, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed with exit code {done.returncode}")

    runtime = build(Settings(data_dir=data_dir, database_url=args.database_url))
    try:
        with runtime.core.store.read() as s:
            stored = users.count(s)
    finally:
        runtime.core.store.dispose()
    if stored != args.rows:
        raise SystemExit(f"expected {args.rows} users in the database, found {stored}")
    rate = args.rows / elapsed
    print(f"portvakt user import: {args.rows:,} users in {elapsed:.2f} s ({rate:,.0f} users/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--totp-every", type=int, default=0, help="every Nth row gets a seed")
    parser.add_argument("--plaintext", type=int, default=0, help="rows with a plain password")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--database-url", help="an empty database instead of SQLite")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        run(args, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="portvakt-bench-") as workdir:
        run(args, Path(workdir))


if __name__ == "__main__":
    main()
