"""``portvakt user tap``: a temporary access pass printed once (text or JSON), bounded by
``[methods.tap]``, audited with the operator; a new pass replaces the old; unknown, disabled
and password-less people are refused with a message and a non-zero exit."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from portvakt.app import Runtime
from portvakt.core import signin
from portvakt.domain import Door, SignInStage
from portvakt.store.models import AuditEvent, Credential
from tests.integration.cli.conftest import PASSWORD, Cli

PASS = re.compile(r"([2-9a-hjkmnp-z]{4}-){3}[2-9a-hjkmnp-z]{4}")


def _alice(cli: Cli) -> None:
    cli.ok("user", "add", "alice", "--password-stdin", input=f"{PASSWORD}\n")


def _signs_in_with(direct: Runtime, value: str) -> bool:
    ctx = direct.context(Door.WEB, ip="192.0.2.1")
    core = direct.core
    progress = signin.submit_password(
        core, ctx, username="alice", password=PASSWORD, device_token=None
    )
    pending = signin.load(core, ctx, progress.signin_token)
    assert pending.stage is SignInStage.FACTOR
    done = signin.submit_code(core, ctx, pending, kind="tap", code=value, remember=False)
    return done.stage is SignInStage.DONE


def test_prints_the_pass_once_and_it_signs_in(cli: Cli, direct: Runtime) -> None:
    _alice(cli)
    result = cli.ok("user", "tap", "alice")
    found = PASS.search(result.stdout)
    assert found is not None and "alice" in result.stdout
    assert "1 sign-in" in result.stdout and "shown only now" in result.stdout
    with direct.core.store.read() as s:
        row = s.query(Credential).filter_by(kind="tap").one()
        assert row.secret is None and found.group(0).replace("-", "") not in str(row.params)
    assert cli.json("user", "show", "alice")["methods"] == 0  # a pass is no method of hers
    assert _signs_in_with(direct, found.group(0))


def test_json_has_username_pass_expiry_and_uses(cli: Cli, direct: Runtime) -> None:
    _alice(cli)
    answer = cli.json("user", "tap", "Alice", "--hours", "24", "--uses", "3")
    assert set(answer) == {"username", "pass", "expires_at", "uses"}
    assert answer["username"] == "alice" and answer["uses"] == 3
    assert PASS.fullmatch(answer["pass"])
    left = datetime.fromisoformat(answer["expires_at"]) - direct.clock.now()
    assert timedelta(hours=23, minutes=59) < left <= timedelta(hours=24)


def test_a_new_pass_replaces_the_old_one(cli: Cli, direct: Runtime) -> None:
    _alice(cli)
    first = cli.json("user", "tap", "alice")["pass"]
    again = cli.ok("user", "tap", "alice")
    assert "earlier pass no longer works" in again.stdout
    with direct.core.store.read() as s:
        assert s.query(Credential).filter_by(kind="tap").count() == 1
    with pytest.raises(Exception, match="wrong_code"):
        _signs_in_with(direct, first)


def test_issuing_is_audited_with_the_operator(
    cli: Cli, direct: Runtime, operator_name: str
) -> None:
    _alice(cli)
    cli.ok("user", "tap", "alice", "--hours", "2", "--uses", "2")
    trail = cli.json("user", "audit", "alice")
    issued = trail[0]
    assert issued["event"] == "method.issued" and issued["method"] == "tap"
    assert (issued["door"], issued["actor"]) == ("cli", operator_name)
    with direct.core.store.read() as s:
        row = s.query(AuditEvent).filter_by(event="method.issued").one()
        assert row.details is not None and row.credential_id is not None
        assert row.details["hours"] == 2 and row.details["uses"] == 2
        assert row.details["replaced"] == 0 and "expires_at" in row.details


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--hours", "73"), 2, "--hours is out of range: 1–72"),
        (("--uses", "11"), 2, "--uses is out of range: 1–10"),
        (("--hours", "0"), 2, "greater than or equal to 1"),  # a usage error
    ],
)
def test_bounds_are_refused(cli: Cli, args: tuple[str, ...], code: int, message: str) -> None:
    _alice(cli)
    result = cli("user", "tap", "alice", *args)
    assert result.exit_code == code and message in result.output


def test_the_bounds_are_settings(cli: Cli, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTVAKT_METHODS__TAP__MAX_HOURS", "168")
    _alice(cli)
    assert cli.json("user", "tap", "alice", "--hours", "168")["uses"] == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ((), "no such user"),
        (("add", "alice", "--no-password"), "has no password"),
    ],
)
def test_people_who_cannot_use_a_pass_are_refused(
    cli: Cli, setup: tuple[str, ...], message: str
) -> None:
    if setup:
        cli.ok("user", *setup)
    result = cli("user", "tap", "alice")
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_a_disabled_person_is_refused(cli: Cli) -> None:
    _alice(cli)
    cli.ok("user", "disable", "alice")
    result = cli("user", "tap", "alice")
    assert result.exit_code == 1 and "disabled" in result.output
