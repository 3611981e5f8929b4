"""``portvakt token …`` through the real command line and a real data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from portvakt.app import Runtime
from portvakt.core import tokens, users
from portvakt.domain import Door
from portvakt.store.repos import credentials
from tests.integration.cli.conftest import Cli
from tests.integration.tokens.helpers import OATH_CSV, PUBLIC, YUBICO_LOG, hotp

VECTORS = Path(__file__).resolve().parents[2] / "unit" / "vectors" / "pskc"


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_pskc_with_a_password_from_stdin(cli: Cli) -> None:
    figure7 = str(VECTORS / "rfc6030-figure7.xml")
    result = cli.ok("token", "import", figure7, "--password-stdin", input="qwerty\n")
    assert "Imported 1 token." in result.stdout
    (token,) = cli.json("token", "list")
    assert (token["serial"], token["kind"], token["assigned_to"]) == ("987654321", "oath", None)
    assert token["params"]["digits"] == 8
    assert "secret" not in str(token)


def test_a_wrong_password_imports_nothing(cli: Cli) -> None:
    figure7 = str(VECTORS / "rfc6030-figure7.xml")
    result = cli("token", "import", figure7, "--password-stdin", input="wrong\n")
    assert result.exit_code == 1
    assert "file: wrong password or key" in result.stderr
    assert "nothing was imported" in result.stderr
    assert cli.json("token", "list") == []


def test_import_pskc_with_a_pre_shared_key_file(cli: Cli, tmp_path: Path) -> None:
    figure6 = str(VECTORS / "rfc6030-figure6.xml")
    key = _file(tmp_path, "key.hex", "12345678901234567890123456789012\n")
    assert cli("token", "import", figure6).exit_code == 1
    cli.ok("token", "import", figure6, "--key-file", key)
    assert cli.json("token", "show", "987654321")["kind"] == "oath"


def test_a_duplicate_serial_rejects_the_whole_file_as_json(cli: Cli, tmp_path: Path) -> None:
    text = OATH_CSV + "fob-2,3132,hotp,6,0\nfob-1,3132,totp,6,30\nfob-3,zz!,totp,6,30\n"
    result = cli("token", "import", _file(tmp_path, "t.csv", text), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["imported"] == []
    assert [(r["where"], r["reason"]) for r in report["rejected"]] == [
        ("row 5", "bad_secret"),
        ("serial fob-1", "duplicate_serial"),
    ]
    assert cli.json("token", "list") == []


def test_malformed_xml_is_a_clear_message(cli: Cli, tmp_path: Path) -> None:
    result = cli("token", "import", _file(tmp_path, "t.xml", "<KeyContainer"))
    assert result.exit_code == 1
    assert "not well-formed XML" in result.stderr
    assert "Traceback" not in result.output


def test_import_yubico_assign_unassign_delete(cli: Cli, direct: Runtime, tmp_path: Path) -> None:
    users.add(direct.core, direct.context(Door.CLI), username="alice", password=None)
    cli.ok("token", "import-yubico", _file(tmp_path, "log.csv", YUBICO_LOG))

    assigned = cli.json("token", "assign", PUBLIC, "alice")
    assert assigned["assigned_to"] == "alice"
    with direct.core.store.read() as s:
        alice = users.find(direct.core, "alice")
        (cred,) = credentials.for_user(s, alice.id, active_only=True)
    assert (cred.kind, cred.label) == ("yubiotp", PUBLIC)
    again = cli("token", "assign", PUBLIC, "alice")
    assert again.exit_code == 1 and "unassign it first" in again.stderr
    missing = cli("token", "assign", "nosuch", "alice")
    assert missing.exit_code == 1 and "no such token" in missing.stderr

    listed = cli.ok("token", "list").stdout
    assert "SERIAL" in listed and "alice" in listed
    assert PUBLIC not in cli.ok("token", "list", "--unassigned").stdout

    cli.ok("token", "unassign", PUBLIC, "--yes")
    with direct.core.store.read() as s:
        assert credentials.for_user(s, alice.id) == []
    cli.ok("token", "delete", PUBLIC, "--yes")
    assert [t["serial"] for t in cli.json("token", "list")] == ["vvccccdcbbbb"]


def test_resync_an_hotp_fob_pressed_far_ahead(cli: Cli, direct: Runtime, tmp_path: Path) -> None:
    cli.ok("token", "import", _file(tmp_path, "t.csv", OATH_CSV))
    assert cli("token", "resync", "fob-1", hotp(300), hotp(302)).exit_code == 2
    result = cli.ok("token", "resync", "fob-1", hotp(300), hotp(301))
    assert "fob-1 is in step again." in result.stdout
    assert cli.json("token", "show", "fob-1")["serial"] == "fob-1"
    token = tokens.find(direct.core, "fob-1")
    assert token.counter == 301


def test_rejections_are_told_in_norwegian(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTVAKT_", "LC_", "LANG"))}
    env |= {"PORTVAKT_LANGUAGE": "nb", "PORTVAKT_DATA_DIR": str(tmp_path / "data")}
    bad = _file(tmp_path, "t.xml", "<KeyContainer")
    done = subprocess.run(
        [sys.executable, "-m", "portvakt", "token", "import", bad],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "filen er ikke velformet XML" in done.stderr
    assert "ingenting ble importert" in done.stderr
