"""The token inventory through the core, on SQLite and PostgreSQL: import all or nothing,
assign, sign in with a token's codes (HOTP look-ahead, YubiKey counters), a claim by the
person, unassign, resync; and one YubiKey OTP sent by twenty threads at once accepted once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from portvakt.app import Runtime
from portvakt.core import tokenclaim, tokens
from portvakt.core.factor import FactorOutcome, check_code
from portvakt.crypto import otp
from portvakt.domain import Door, UserRef
from portvakt.errors import Conflict, Denied, NotFound
from portvakt.store.models import AuditEvent
from portvakt.store.repos import credentials
from tests.conftest import FakeClock
from tests.integration.tokens.helpers import OATH_CSV, PUBLIC, SEED, YUBICO_LOG, hotp, touch

KINDS = ("totp", "oath", "yubiotp")


def _import(runtime: Runtime, fmt: str, data: str) -> tokens.ImportReport:
    ctx = runtime.context(Door.CLI, actor="cli:test")
    return tokens.import_file(runtime.core, ctx, fmt=fmt, data=data.encode())


def _check(runtime: Runtime, user: UserRef, code: str, ip: str = "192.0.2.1") -> FactorOutcome:
    ctx = runtime.context(Door.WEB, ip=ip)
    with runtime.core.store.write() as s:
        return check_code(s, runtime.core, ctx, user_id=user.id, kinds=KINDS, raw_code=code)


def _assign(runtime: Runtime, serial: str, user: UserRef) -> None:
    tokens.assign(runtime.core, runtime.context(Door.CLI), serial, user.username)


def test_import_is_all_or_nothing_and_reports_each_rejected_row(runtime: Runtime) -> None:
    bad = YUBICO_LOG + "Yubico OTP,x,1,notmodhex!,010203040506,00,,\nOATH-HOTP,x,1,,,,\n"
    report = _import(runtime, "yubico-csv", bad)
    assert report.imported == ()
    assert [(r.where, r.reason) for r in report.rejected] == [
        ("row 4", "bad_public_id"),
        ("row 5", "not_yubico_otp"),
    ]
    assert tokens.listing(runtime.core) == []

    assert _import(runtime, "yubico-csv", YUBICO_LOG).imported == (PUBLIC, "vvccccdcbbbb")
    again = _import(runtime, "yubico-csv", YUBICO_LOG)
    assert {r.reason for r in again.rejected} == {"serial_exists"}
    assert len(tokens.listing(runtime.core)) == 2


def test_an_assigned_yubikey_signs_in_once_per_touch(runtime: Runtime, alice: UserRef) -> None:
    _import(runtime, "yubico-csv", YUBICO_LOG)
    _assign(runtime, PUBLIC, alice)
    with pytest.raises(Conflict):
        _assign(runtime, PUBLIC, alice)

    first = touch(1, 0)
    assert _check(runtime, alice, first).ok
    assert not _check(runtime, alice, first).ok  # replay
    assert not _check(runtime, alice, touch(1, 0)[:-1] + "c").ok  # bad CRC
    assert not _check(runtime, alice, touch(2, 0, public="vvccccdcbbbb")).ok  # another key
    assert _check(runtime, alice, touch(1, 1)).ok  # next touch, same session
    assert _check(runtime, alice, touch(2, 0)).ok  # next session
    assert not _check(runtime, alice, touch(1, 5)).ok  # an older session


def test_otp05_hotp_look_ahead_and_resync(runtime: Runtime, alice: UserRef) -> None:
    _import(runtime, "csv", OATH_CSV)
    _assign(runtime, "fob-1", alice)

    assert _check(runtime, alice, hotp(0)).ok
    assert _check(runtime, alice, hotp(5)).ok  # pressed four times in between
    assert not _check(runtime, alice, hotp(5)).ok
    assert not _check(runtime, alice, hotp(3)).ok  # skipped codes stay behind
    assert not _check(runtime, alice, hotp(100)).ok  # beyond the look-ahead
    ctx = runtime.context(Door.CLI)
    with pytest.raises(Exception, match="resync_failed"):
        tokens.resync(runtime.core, ctx, "fob-1", [hotp(200), hotp(202)])
    tokens.resync(runtime.core, ctx, "fob-1", [hotp(200), hotp(201)])
    assert not _check(runtime, alice, hotp(201)).ok
    assert _check(runtime, alice, hotp(202)).ok


def test_a_person_claims_an_unassigned_yubikey_with_one_touch(
    runtime: Runtime, alice: UserRef
) -> None:
    _import(runtime, "yubico-csv", YUBICO_LOG)
    ctx = runtime.context(Door.WEB, ip="192.0.2.7")
    kind = tokenclaim.claim(runtime.core, ctx, user_id=alice.id, serial="", codes=[touch(1, 0)])

    assert kind == "yubiotp"
    assert tokens.find(runtime.core, PUBLIC).username == alice.username
    assert not _check(runtime, alice, touch(1, 0)).ok  # the claiming touch is spent
    assert _check(runtime, alice, touch(1, 1)).ok
    with pytest.raises(Denied):  # already held
        tokenclaim.claim(runtime.core, ctx, user_id=alice.id, serial="", codes=[touch(1, 2)])


def test_a_claim_needs_two_consecutive_codes_and_counts_failures(
    runtime: Runtime, alice: UserRef
) -> None:
    _import(runtime, "csv", OATH_CSV)
    ctx = runtime.context(Door.WEB, ip="192.0.2.7")
    for codes in ([hotp(1)], [hotp(1), hotp(3)], ["123456", "654321"]):
        with pytest.raises(Denied):
            tokenclaim.claim(runtime.core, ctx, user_id=alice.id, serial="fob-1", codes=codes)
    with pytest.raises(Denied):
        tokenclaim.claim(
            runtime.core, ctx, user_id=alice.id, serial="nope", codes=[hotp(1), hotp(2)]
        )
    tokenclaim.claim(runtime.core, ctx, user_id=alice.id, serial="fob-1", codes=[hotp(7), hotp(8)])

    assert not _check(runtime, alice, hotp(8)).ok
    assert _check(runtime, alice, hotp(9)).ok


def test_unassign_keeps_the_counter_and_delete_removes_the_method(
    runtime: Runtime, alice: UserRef
) -> None:
    _import(runtime, "csv", OATH_CSV)
    _assign(runtime, "fob-1", alice)
    assert _check(runtime, alice, hotp(3)).ok
    ctx = runtime.context(Door.CLI)
    tokens.unassign(runtime.core, ctx, "fob-1")
    with runtime.core.store.read() as s:
        assert credentials.for_user(s, alice.id) == []
    assert tokens.find(runtime.core, "fob-1").counter == 3

    _assign(runtime, "fob-1", alice)
    assert not _check(runtime, alice, hotp(3)).ok
    tokens.delete(runtime.core, ctx, "fob-1")
    with runtime.core.store.read() as s:
        assert credentials.for_user(s, alice.id) == []
    with pytest.raises(NotFound):
        tokens.find(runtime.core, "fob-1")


def test_otp04_one_yubikey_otp_sent_twenty_times_at_once_is_accepted_once(
    runtime: Runtime, alice: UserRef
) -> None:
    _import(runtime, "yubico-csv", YUBICO_LOG)
    _assign(runtime, PUBLIC, alice)
    code = touch(3, 1)
    barrier = Barrier(20)

    def attempt(n: int) -> FactorOutcome:
        barrier.wait()
        return _check(runtime, alice, code, ip=f"192.0.2.{n + 1}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert sum(o.ok for o in outcomes) == 1
    assert tokens.find(runtime.core, PUBLIC).credential_id is not None
    with runtime.core.store.read() as s:
        (cred,) = credentials.for_user(s, alice.id)
        events = [e.event for e in s.query(AuditEvent).filter_by(user_id=alice.id)]
    assert cred.counter == 3 << 8 | 1
    # each other submission is a replay (until the lockout throttles the rest), never a wrong code
    assert events.count("factor.replay") >= 1 and "factor.failed" not in events


def test_a_removed_method_returns_its_token_to_the_inventory(
    runtime: Runtime, alice: UserRef
) -> None:
    _import(runtime, "yubico-csv", YUBICO_LOG)
    _assign(runtime, PUBLIC, alice)
    with runtime.core.store.write() as s:
        (cred,) = credentials.for_user(s, alice.id)
        credentials.remove(s, cred.id)  # as Security info's Delete does
    token = tokens.find(runtime.core, PUBLIC)
    assert token.credential_id is None and token.username is None


def test_a_totp_cards_drift_is_stored_with_its_counter(
    runtime: Runtime, alice: UserRef, clock: FakeClock
) -> None:
    _import(runtime, "csv", f"card-1,{SEED.hex()},totp,6,30\n")
    _assign(runtime, "card-1", alice)
    now = otp.time_step(clock.now().timestamp())
    assert _check(runtime, alice, otp.hotp(SEED, now + 1)).ok  # the card runs 30 s fast
    with runtime.core.store.read() as s:
        (cred,) = credentials.for_user(s, alice.id)
    assert (cred.counter, cred.params["drift"]) == (now + 1, 1)
    clock.advance(seconds=30)
    assert _check(runtime, alice, otp.hotp(SEED, now + 3)).ok  # and keeps gaining
    with runtime.core.store.read() as s:
        (cred,) = credentials.for_user(s, alice.id)
    assert (cred.counter, cred.params["drift"]) == (now + 3, 2)


def test_a_token_whose_method_was_deleted_keeps_its_replay_state(
    runtime: Runtime, alice: UserRef
) -> None:
    """Deleted on Security info (or the person removed), a token goes back to the inventory
    with the counter it reached: codes used while it was held never claim it again."""
    from portvakt.core import enrollment

    _import(runtime, "csv", OATH_CSV)
    _assign(runtime, "fob-1", alice)
    assert _check(runtime, alice, hotp(0)).ok
    assert _check(runtime, alice, hotp(1)).ok
    held = tokens.find(runtime.core, "fob-1")
    assert held.credential_id is not None
    ctx = runtime.context(Door.WEB)
    enrollment.reset_all(runtime.core, ctx, user_id=alice.id)  # the helpdesk's reset
    back = tokens.find(runtime.core, "fob-1")
    assert back.credential_id is None and back.counter == 1
    with pytest.raises(Denied):
        tokenclaim.claim(
            runtime.core, ctx, user_id=alice.id, serial="fob-1", codes=[hotp(0), hotp(1)]
        )
    tokenclaim.claim(runtime.core, ctx, user_id=alice.id, serial="fob-1", codes=[hotp(2), hotp(3)])
