"""``portvakt user import``: CSV and JSON Lines, all rows or none, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import bcrypt
import pyotp
import pytest
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.core import signin
from portvakt.core.userimport import bulk
from portvakt.crypto.hashing import hash_password
from portvakt.domain import Door, SignInStage
from portvakt.errors import Denied
from portvakt.store.models import AuditEvent
from tests.integration.cli.conftest import Cli, signs_in

ARGON2_PASSWORD = "argon2 password one"
ARGON2_HASH = hash_password(ARGON2_PASSWORD)
BCRYPT_PASSWORD = "bcrypt password one"
BCRYPT_HASH = bcrypt.hashpw(BCRYPT_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 20 bytes
COLUMNS = [
    "username",
    "display_name",
    "email",
    "phone",
    "password",
    "password_hash",
    "totp_secret",
    "totp_algorithm",
    "totp_digits",
    "totp_period",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def import_events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.core.store.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.event == "user.imported")))


def sign_in_with_code(runtime: Runtime, username: str, password: str, code: str) -> SignInStage:
    ctx = runtime.context(Door.WEB, ip="192.0.2.7")
    first = signin.submit_password(
        runtime.core, ctx, username=username, password=password, device_token=None
    )
    assert first.stage is SignInStage.FACTOR
    pending = signin.load(runtime.core, ctx, first.signin_token)
    done = signin.submit_code(runtime.core, ctx, pending, kind="totp", code=code, remember=False)
    return done.stage


def test_csv_takes_over_argon2_and_bcrypt_hashes_and_hashes_plaintext(
    cli: Cli, direct: Runtime, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "people.csv",
        [
            {"username": "Anna", "display_name": "Anna A", "password_hash": ARGON2_HASH},
            {"username": "bert", "email": "bert@example.org", "password_hash": BCRYPT_HASH},
            {"username": "cecil", "phone": "+47 123 45 678", "password": "cecil's passphrase"},
            {"username": "dora"},
        ],
    )

    result = cli.ok("user", "import", str(path))

    assert result.stdout.startswith("Imported 4 users (2 with a password hash, 1 with a new ")
    assert signs_in(direct, "anna", ARGON2_PASSWORD)
    assert signs_in(direct, "bert", BCRYPT_PASSWORD)
    assert signs_in(direct, "cecil", "cecil's passphrase")
    assert not signs_in(direct, "anna", BCRYPT_PASSWORD)
    listed = {u["username"]: u for u in cli.json("user", "list")}
    assert listed["anna"]["display_name"] == "Anna A"
    assert listed["bert"]["email"] == "bert@example.org"
    assert listed["cecil"]["phone"] == "+4712345678"
    assert cli.json("user", "show", "dora")["has_password"] is False


def test_jsonl_totp_seed_becomes_the_active_default_method(
    cli: Cli, direct: Runtime, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "people.jsonl",
        [{"username": "erik", "password_hash": ARGON2_HASH, "totp_secret": SEED.lower()}],
    )

    cli.ok("user", "import", str(path))

    assert cli.json("user", "show", "erik")["methods"] == 1
    with pytest.raises(Denied):
        sign_in_with_code(direct, "erik", ARGON2_PASSWORD, "000000")
    code = pyotp.TOTP(SEED).now()
    assert sign_in_with_code(direct, "erik", ARGON2_PASSWORD, code) is SignInStage.DONE


def test_totp_algorithm_digits_and_period_are_kept(
    cli: Cli, direct: Runtime, tmp_path: Path
) -> None:
    row = {
        "username": "frida",
        "password": "frida's passphrase",
        "totp_secret": SEED,
        "totp_algorithm": "sha256",
        "totp_digits": 8,
        "totp_period": "60",
    }
    cli.ok("user", "import", str(write_jsonl(tmp_path / "people.jsonl", [row])))

    code = pyotp.TOTP(SEED, digest=hashlib.sha256, digits=8, interval=60).now()
    assert sign_in_with_code(direct, "frida", "frida's passphrase", code) is SignInStage.DONE


def test_every_rejected_row_is_reported_and_nothing_is_written(
    cli: Cli, direct: Runtime, tmp_path: Path
) -> None:
    cli.ok("user", "add", "olga", "--no-password")
    path = write_csv(
        tmp_path / "people.csv",
        [
            {"username": "good", "password_hash": ARGON2_HASH},  # line 2
            {"username": "bad name!"},  # 3
            {"username": "GOOD"},  # 4: same name after normalisation
            {"username": "hash", "password_hash": "$argon2id$v=19$garbage"},  # 5
            {"username": "seed", "totp_secret": "not base32!"},  # 6
            {"username": "olga"},  # 7: already in the database
            {"username": "short", "password": "2short"},  # 8
            {"username": "phone", "phone": "12345"},  # 9
            {"username": "both", "password": "long enough", "password_hash": BCRYPT_HASH},
            {"username": "digits", "totp_digits": "6"},  # 11
            {"username": "fine", "password": "a fine passphrase"},  # 12
        ],
    )

    result = cli("user", "import", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 3: invalid username (1–64 letters, digits or . _ - @ + ')",
        "line 4: duplicate username: good, first on line 2",
        "line 5: password_hash is not an argon2 or bcrypt hash",
        "line 6: totp_secret is not base32",
        "line 7: a user with this name already exists: olga",
        "line 8: password too short (at least 8 characters)",
        "line 9: invalid phone number (E.164, such as +4712345678)",
        "line 10: give password or password_hash, not both",
        "line 11: totp_algorithm, totp_digits or totp_period without totp_secret",
        "Error: 9 of 11 rows rejected; nothing was imported.",
    ]
    assert ARGON2_HASH not in result.output
    assert [u["username"] for u in cli.json("user", "list")] == ["olga"]
    assert import_events(direct) == []


def test_jsonl_lines_that_cannot_be_read_are_rejected(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"username": "ok"}\n'
        "\n"
        "{not json\n"
        '["username", "list"]\n'
        '{"username": "x", "role": "admin"}\n'
        '{"username": "y", "email": 42}\n'
        '{"username": "z", "totp_secret": "MFRGGZDF"}\n'
        '{"username": "w", "password": "lone \\ud800 surrogate"}\n'
        '{"username": "v", "email": "v\\u0000@example.org"}\n',
        encoding="utf-8",
    )

    result = cli("user", "import", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[:-1] == [
        "line 3: not valid JSON",
        "line 4: not a JSON object",
        "line 5: unknown fields: role",
        "line 6: invalid email address",
        "line 7: totp_secret must be 10–64 bytes when decoded: 5 bytes",
        "line 8: not printable text or a number: password",
        "line 9: not printable text or a number: email",
    ]
    assert cli.json("user", "list") == []


def test_dry_run_checks_every_row_and_writes_nothing(
    cli: Cli, direct: Runtime, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "people.csv",
        [{"username": "gus", "password": "gus's passphrase", "totp_secret": SEED}],
    )

    result = cli.ok("user", "import", str(path), "--dry-run")

    assert result.stdout.startswith("Dry run: all 1 rows are valid; 1 users would be imported")
    assert cli.json("user", "list") == []
    assert import_events(direct) == []


def test_many_plaintext_passwords_are_hashed_in_worker_processes(
    cli: Cli, direct: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 2)
    rows = [{"username": f"user{i}", "password": f"passphrase number {i}"} for i in range(3)]

    cli.ok("user", "import", str(write_csv(tmp_path / "people.csv", rows)))

    for i in range(3):
        assert signs_in(direct, f"user{i}", f"passphrase number {i}")


def test_one_audit_event_records_the_counts(
    cli: Cli, direct: Runtime, tmp_path: Path, operator_name: str
) -> None:
    path = write_csv(
        tmp_path / "staff.csv",
        [
            {"username": "hedda", "password_hash": ARGON2_HASH, "totp_secret": SEED},
            {"username": "ivar", "password": "ivar's passphrase"},
        ],
    )

    cli.ok("user", "import", str(path))

    [event] = import_events(direct)
    assert (event.door, event.actor, event.outcome) == ("cli", operator_name, "success")
    assert event.details == {
        "source": "staff.csv",
        "users": 2,
        "passwords_hashed": 1,
        "hashes_imported": 1,
        "totp": 1,
    }


def test_format_option_overrides_the_file_name(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text('{"username": "jonas"}\n', encoding="utf-8")

    assert cli("user", "import", str(path)).exit_code == 2
    cli.ok("user", "import", str(path), "--format", "jsonl")

    assert [u["username"] for u in cli.json("user", "list")] == ["jonas"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "username,role\nx,admin\n", "unknown columns in the header: role"),
        ("b.csv", "email\nx@example.org\n", "the header has no username column"),
        ("c.csv", "username,username\nx,y\n", "a column appears twice in the header"),
        ("d.csv", "username\n", "the file has no rows"),
        ("e.jsonl", "\n\n", "the file has no rows"),
        ("f.data", '{"username": "x"}\n', "cannot tell the format from the file name"),
    ],
)
def test_file_level_problems_exit_2_with_one_line(
    cli: Cli, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    result = cli("user", "import", str(path))

    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_a_file_that_is_not_utf8_exits_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("username\nbjørn\n".encode("latin-1"))

    result = cli("user", "import", str(path))

    assert result.exit_code == 2
    assert result.stderr == "Error: the file is not UTF-8 text\n"
