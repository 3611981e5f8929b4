from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from portvakt.app import Runtime
from portvakt.cli.main import app
from portvakt.core import enrollment, signin
from portvakt.domain import Door, FactorLock, SignInStage
from portvakt.errors import Denied
from portvakt.store.repos import factors
from portvakt.store.repos import users as user_rows
from tests.integration.cli.conftest import PASSWORD, Cli, signs_in


def test_add_asks_for_the_password_twice_with_hidden_input(cli: Cli, direct: Runtime) -> None:
    result = cli.ok(
        "user", "add", "Alice", "--display-name", "Alice Example", input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert "Created user alice" in result.stdout
    assert PASSWORD not in result.output
    assert signs_in(direct, "alice", PASSWORD)


def test_add_asks_again_when_the_confirmation_differs(cli: Cli, direct: Runtime) -> None:
    answers = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"

    cli.ok("user", "add", "alice", input=answers)

    assert signs_in(direct, "alice", PASSWORD)


def test_add_reads_one_line_of_stdin_and_prints_json(cli: Cli, direct: Runtime) -> None:
    result = cli.ok(
        "user",
        "add",
        "bob",
        "--email",
        "bob@example.org",
        "--password-stdin",
        "--json",
        input=f"{PASSWORD}\nnot part of it\n",
    )

    created = _json(result.stdout)
    assert created["username"] == "bob"
    assert created["email"] == "bob@example.org"
    assert created["disabled"] is False
    assert signs_in(direct, "bob", PASSWORD)


def test_add_without_password_creates_a_user_who_cannot_sign_in(cli: Cli, direct: Runtime) -> None:
    cli.ok("user", "add", "carol", "--no-password")

    shown = cli.json("user", "show", "carol")
    assert shown["has_password"] is False
    assert not signs_in(direct, "carol", "")


def test_add_refuses_password_stdin_together_with_no_password(cli: Cli) -> None:
    result = cli("user", "add", "dave", "--password-stdin", "--no-password", input="x\n")

    assert result.exit_code == 2
    assert "--no-password" in result.stderr


def test_add_existing_user_fails_before_asking_for_a_password(cli: Cli) -> None:
    cli.ok("user", "add", "alice", "--no-password")

    result = cli("user", "add", "ALICE")

    assert result.exit_code == 1
    assert result.stderr == "Error: a user with this name already exists\n"
    assert "Password" not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["bad name!", "--no-password"], None, "invalid username"),
        (["erin", "--password-stdin"], "short\n", "password too short"),
        (["erin", "--password-stdin"], "", "standard input is empty"),
        (["erin", "--no-password", "--email", "not-an-address"], None, "invalid email"),
        (["erin", "--no-password", "--email", "erin\x07@example.org"], None, "invalid email"),
    ],
)
def test_add_rejects_bad_input_with_one_line_and_exit_2(
    cli: Cli, args: list[str], stdin: str | None, message: str
) -> None:
    result = cli("user", "add", *args, input=stdin)

    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_list_json_is_an_array_sorted_by_username(cli: Cli) -> None:
    for name in ("mallory", "alice", "bob"):
        cli.ok("user", "add", name, "--no-password")

    listed = cli.json("user", "list")

    assert [u["username"] for u in listed] == ["alice", "bob", "mallory"]
    assert set(listed[0]) == {
        "id",
        "username",
        "display_name",
        "email",
        "phone",
        "disabled",
        "created_at",
    }


def test_list_text_has_one_line_per_user(cli: Cli) -> None:
    cli.ok("user", "add", "alice", "--no-password", "--email", "alice@example.org")

    lines = cli.ok("user", "list").stdout.splitlines()

    assert lines[0].split() == ["USERNAME", "DISPLAY", "NAME", "EMAIL", "STATUS"]
    assert lines[1].split() == ["alice", "alice", "alice@example.org", "active"]


def test_list_pages_with_limit_and_offset(cli: Cli) -> None:
    for name in ("alice", "bob", "carol"):
        cli.ok("user", "add", name, "--no-password")

    page = cli.json("user", "list", "--limit", "2", "--offset", "1")
    text = cli.ok("user", "list", "--limit", "2")

    assert [u["username"] for u in page] == ["bob", "carol"]
    assert "see --limit and --offset" in text.stderr


def test_list_without_users_prints_an_empty_array(cli: Cli) -> None:
    assert cli.json("user", "list") == []
    assert "portvakt user add" in cli.ok("user", "list").stderr


def test_show_unknown_user_prints_one_line_and_exits_1(cli: Cli) -> None:
    result = cli("user", "show", "nobody", "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: no such user\n"


def test_show_text_lists_the_fields(cli: Cli) -> None:
    cli.ok("user", "add", "alice", "--password-stdin", input=f"{PASSWORD}\n")

    text = cli.ok("user", "show", "alice").stdout

    assert "password       set" in text
    assert "second factor  open (0 failures in a row)" in text


def test_disable_and_enable_change_state_and_sign_in(cli: Cli, direct: Runtime) -> None:
    cli.ok("user", "add", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    ctx = direct.context(Door.WEB, ip="192.0.2.1")

    cli.ok("user", "disable", "alice")
    assert cli.json("user", "show", "alice")["disabled"] is True
    with pytest.raises(Denied):
        signin.submit_password(
            direct.core, ctx, username="alice", password=PASSWORD, device_token=None
        )

    cli.ok("user", "enable", "alice")
    assert cli.json("user", "show", "alice")["disabled"] is False
    progress = signin.submit_password(
        direct.core, ctx, username="alice", password=PASSWORD, device_token=None
    )
    assert progress.stage is SignInStage.ACTIVATION


@pytest.mark.parametrize("from_stdin", [True, False])
def test_set_password_replaces_the_old_one(cli: Cli, direct: Runtime, from_stdin: bool) -> None:
    cli.ok("user", "add", "alice", "--password-stdin", input=f"{PASSWORD}\n")
    new = "an entirely new passphrase"

    if from_stdin:
        cli.ok("user", "set-password", "alice", "--password-stdin", input=f"{new}\n")
    else:
        cli.ok("user", "set-password", "alice", input=f"{new}\n{new}\n")

    assert signs_in(direct, "alice", new)
    assert not signs_in(direct, "alice", PASSWORD)


def test_set_password_of_unknown_user_fails_before_the_prompt(cli: Cli) -> None:
    result = cli("user", "set-password", "nobody")

    assert result.exit_code == 1
    assert "Password" not in result.output


def test_delete_asks_and_keeps_the_user_on_no(cli: Cli) -> None:
    cli.ok("user", "add", "alice", "--no-password")

    refused = cli("user", "delete", "alice", input="n\n")

    assert refused.exit_code == 1
    assert [u["username"] for u in cli.json("user", "list")] == ["alice"]


@pytest.mark.parametrize(("args", "stdin"), [(["--yes"], None), ([], "y\n")])
def test_delete_removes_the_user(cli: Cli, args: list[str], stdin: str | None) -> None:
    cli.ok("user", "add", "alice", "--no-password")

    cli.ok("user", "delete", "alice", *args, input=stdin)

    assert cli.json("user", "list") == []
    assert cli("user", "show", "alice").exit_code == 1


@pytest.mark.parametrize("blocked", [False, True])
def test_unlock_clears_a_second_factor_lockout(cli: Cli, direct: Runtime, blocked: bool) -> None:
    cli.ok("user", "add", "alice", "--no-password")
    with direct.core.store.write() as s:
        user = user_rows.by_username(s, "alice")
        assert user is not None
        until = datetime.now(UTC) + timedelta(minutes=5)
        lock = FactorLock(100 if blocked else 10, 1, until, blocked)
        factors.save_lock(s, user.id, lock)
    before = cli.json("user", "show", "alice")
    assert before["lockout"] == ("blocked" if blocked else "locked")

    cli.ok("user", "unlock", "alice")

    after = cli.json("user", "show", "alice")
    assert after["lockout"] == "open"
    assert after["factor_failures"] == 0
    assert after["factor_locked_until"] is None
    assert after["factor_blocked"] is False


def test_reset_methods_removes_every_method(cli: Cli, direct: Runtime) -> None:
    cli.ok("user", "add", "alice", "--no-password")
    user_id = cli.json("user", "show", "alice")["id"]
    _enroll_totp(direct, user_id)
    assert cli.json("user", "show", "alice")["methods"] == 1

    refused = cli("user", "reset-methods", "alice", input="n\n")
    assert refused.exit_code == 1
    assert cli.json("user", "show", "alice")["methods"] == 1

    result = cli.ok("user", "reset-methods", "alice", "--yes")

    assert "Removed 1 method(s)" in result.stdout
    assert cli.json("user", "show", "alice")["methods"] == 0


def test_changes_are_audited_with_door_cli_and_the_operator(cli: Cli, operator_name: str) -> None:
    cli.ok("user", "add", "alice", "--no-password")
    cli.ok("user", "disable", "alice")
    cli.ok("user", "unlock", "alice")

    trail = cli.json("user", "audit", "alice")

    assert [e["event"] for e in trail] == ["factor.unlocked", "user.disabled", "user.created"]
    assert {(e["door"], e["actor"]) for e in trail} == {("cli", operator_name)}
    assert "user.created" in cli.ok("user", "audit", "alice").stdout


def _enroll_totp(direct: Runtime, user_id: int) -> None:
    ctx = direct.context(Door.WEB)
    credential_id = enrollment.begin(direct.core, ctx, user_id=user_id, kind="totp", label="Phone")
    shown = enrollment.pending_display(
        direct.core, ctx, user_id=user_id, credential_id=credential_id
    )
    code = pyotp.TOTP(shown.display["secret_text"].replace(" ", "")).now()
    enrollment.confirm(direct.core, ctx, user_id=user_id, credential_id=credential_id, code=code)


def _json(text: str) -> dict[str, object]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def test_add_with_undecodable_stdin_is_one_line_and_exit_2(cli: Cli) -> None:
    result = cli.runner.invoke(
        app, ["user", "add", "erin", "--password-stdin"], input=b"\xff\xfe not utf-8\n"
    )

    assert result.exit_code == 2
    assert result.stderr == "Error: input is not valid UTF-8 text\n"


def test_add_with_a_phone_registers_it_for_text_message_codes(cli: Cli, direct: Runtime) -> None:
    cli.ok("user", "add", "erin", "--no-password", "--phone", "+47 912 34 567")

    with direct.core.store.read() as s:
        found = user_rows.by_username(s, "erin")
        assert found is not None and found.phone == "+4791234567"


def test_add_with_an_invalid_phone_says_so(cli: Cli) -> None:
    result = cli("user", "add", "frank", "--no-password", "--phone", "12")

    assert result.exit_code != 0
    assert "invalid phone number" in result.output
