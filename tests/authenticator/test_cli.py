"""The offline commands through Typer's CliRunner: add (URI and QR image), list, codes, remove,
pin; exit codes and error lines without tracebacks."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
import segno
from typer.testing import CliRunner, Result

from portvakt_authenticator import cli
from portvakt_authenticator.keystore import Keystore
from tests.authenticator.conftest import RFC_SEED, TOTP_URI, legacy_store

HOTP_URI = f"otpauth://hotp/Corp:carol?secret={RFC_SEED}&counter=0"


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli.app, list(args), input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)


@pytest.fixture
def run(home: Path) -> Cli:
    return Cli()


def _freeze(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    monkeypatch.setattr(cli, "time", types.SimpleNamespace(time=lambda: now))


def test_add_otpauth_then_list(run: Cli, home: Path) -> None:
    added = run.ok("add", TOTP_URI)
    assert added.stdout.startswith("Added Example: alice@example.org (")
    listed = run.json("list")["accounts"]
    assert [(a["type"], a["issuer"], a["label"]) for a in listed] == [
        ("totp", "Example", "alice@example.org")
    ]
    assert "secret" not in json.dumps(listed) and RFC_SEED not in json.dumps(listed)
    assert "Example: alice@example.org" in run.ok("list").stdout


def test_list_with_no_accounts_says_how_to_add_one(run: Cli) -> None:
    assert "portvakt-authenticator add" in run.ok("list").stdout
    assert run.json("list") == {"accounts": []}


def test_codes_shows_totp_with_seconds_left_and_hotp_counter(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    run.ok("add", TOTP_URI)
    run.ok("add", HOTP_URI)
    _freeze(monkeypatch, 59.0)
    rows = run.json("codes")["codes"]
    totp = next(r for r in rows if r["type"] == "totp")
    hotp = next(r for r in rows if r["type"] == "hotp")
    assert (totp["code"], totp["seconds_left"], totp["period"]) == ("287082", 1, 30)
    assert hotp["counter"] == 0 and "code" not in hotp
    text = run.ok("codes").stdout
    assert "287082" in text and "1s left" in text and "counter 0" in text


def test_codes_next_uses_and_advances_the_hotp_counter(run: Cli) -> None:
    run.ok("add", HOTP_URI)
    assert run.ok("codes", "--next", "carol").stdout.startswith("755224")  # RFC 4226 D, 0
    assert run.json("codes", "--next", "Corp")["code"] == "287082"  # count 1
    assert run.json("codes")["codes"][0]["counter"] == 2


def test_codes_next_refuses_a_totp_account(run: Cli) -> None:
    run.ok("add", TOTP_URI)
    result = run("codes", "--next", "Example")
    assert result.exit_code == 2
    assert result.stderr == "Error: not a HOTP account\n"


def test_add_reads_the_qr_code_of_an_image(run: Cli, tmp_path: Path) -> None:
    image = tmp_path / "qr.png"
    segno.make(TOTP_URI, error="m").save(str(image), scale=6)
    run.ok("add", str(image))
    assert run.json("list")["accounts"][0]["label"] == "alice@example.org"


def test_add_an_image_without_a_qr_code(run: Cli, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    segno.make("x").save(str(blank), scale=1, dark="white")
    result = run("add", str(blank))
    assert (result.exit_code, result.stderr) == (2, "Error: no QR code found in the image\n")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run("add", str(text))
    assert (result.exit_code, result.stderr) == (2, "Error: the file is not an image\n")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://example.org", "not an otpauth:// or portvakt://activate URI"),
        ("otpauth://totp/x?secret=!!", "the secret is not valid base32"),
        ("portvakt://activate?v=9&server=https%3A%2F%2Fa&code=c&fp=f", "update the app"),
    ],
)
def test_add_bad_uri_is_bad_input_without_traceback(run: Cli, uri: str, message: str) -> None:
    result = run("add", uri)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert not Keystore().exists()


def test_remove_with_yes_and_with_confirmation(run: Cli) -> None:
    run.ok("add", TOTP_URI)
    run.ok("add", HOTP_URI)
    removed = run.ok("remove", "carol", "--yes")
    assert "Removed Corp: carol" in removed.stdout
    refused = run("remove", "Example", input="n\n")
    assert refused.exit_code == 1
    assert len(run.json("list")["accounts"]) == 1
    run.ok("remove", "Example", input="y\n")
    assert run.json("list") == {"accounts": []}


def test_remove_unknown_and_ambiguous_accounts(run: Cli) -> None:
    run.ok("add", TOTP_URI)
    run.ok("add", TOTP_URI)
    missing = run("remove", "nobody", "--yes")
    assert (missing.exit_code, missing.stderr) == (1, "Error: no such account\n")
    ambiguous = run("remove", "Example", "--yes")
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr.startswith("Error: more than one account matches; use its id (")


def test_pin_set_change_remove_with_pin_stdin(run: Cli) -> None:
    run.ok("add", TOTP_URI)
    run.ok("pin", "set", "--pin-stdin", input="246813\n")
    assert Keystore().encrypted()
    locked = run("list")  # no terminal here, and no PIN given
    assert locked.exit_code == 2 and "--pin-stdin" in locked.stderr
    wrong = run("list", "--pin-stdin", input="135791\n")
    assert (wrong.exit_code, wrong.stderr) == (
        2,
        "Error: wrong PIN (or the accounts file was altered)\n",
    )
    assert len(run.json("list", "--pin-stdin", input="246813\n")["accounts"]) == 1
    run.ok("add", HOTP_URI, "--pin-stdin", input="246813\n")
    run.ok("pin", "change", "--pin-stdin", input="246813\n975310\n")
    assert len(run.json("codes", "--pin-stdin", input="975310\n")["codes"]) == 2
    again = run("pin", "set", "--pin-stdin", input="111111\n")
    assert again.exit_code == 1 and "pin change" in again.stderr
    run.ok("pin", "remove", "--pin-stdin", input="975310\n")
    assert not Keystore().encrypted()
    assert run("pin", "remove").exit_code == 1


def test_pin_is_never_taken_from_the_environment(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    run.ok("pin", "set", "--pin-stdin", input="246813\n")
    monkeypatch.setenv("PORTVAKT_AUTHENTICATOR_PIN", "246813")
    assert run("list").exit_code == 2


@pytest.mark.parametrize("command", [("set",), ("change",)])
def test_a_pin_under_six_characters_is_bad_input(run: Cli, command: tuple[str, ...]) -> None:
    """A 4- or 5-digit PIN falls to an offline search of the stolen file in hours."""
    current = ""
    if command == ("change",):
        run.ok("pin", "set", "--pin-stdin", input="246813\n")
        current = "246813\n"
    result = run("pin", *command, "--pin-stdin", input=f"{current}12345\n")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: the PIN must have at least 6 characters\n",
    )
    run.ok("pin", *command, "--pin-stdin", input=f"{current}123456\n")


def test_a_store_with_a_short_pin_opens_and_asks_for_a_longer_one(run: Cli, home: Path) -> None:
    """A store made with a 4-digit PIN (allowed before) still opens; every command that opens
    it says to choose a longer PIN, and ``pin change`` takes the old one."""
    run.ok("add", TOTP_URI)
    legacy_store(home, "2468")
    opened = run.ok("list", "--pin-stdin", input="2468\n")
    assert "Example" in opened.stdout
    assert opened.stderr == (
        "Warning: the PIN is shorter than 6 characters; choose a longer one with "
        "“portvakt-authenticator pin change”\n"
    )
    run.ok("pin", "change", "--pin-stdin", input="2468\n246813\n")
    assert run.ok("list", "--pin-stdin", input="246813\n").stderr == ""


def test_damaged_store_is_a_clear_error(run: Cli, home: Path) -> None:
    home.mkdir(mode=0o700)
    (home / "accounts.json").write_text("{broken")
    result = run("list")
    assert result.exit_code == 1
    assert result.stderr == "Error: the accounts file is damaged and cannot be read (not JSON)\n"


def test_version_and_help(run: Cli) -> None:
    assert run.ok("--version").stdout.startswith("portvakt-authenticator ")
    assert "approve" in run.ok("--help").stdout
