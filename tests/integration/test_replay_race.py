"""OTP-04: twenty simultaneous checks of the same valid code → exactly one success, on SQLite
and PostgreSQL (row lock + compare-and-set of the last accepted step)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from portvakt.app import Runtime
from portvakt.core import enrollment
from portvakt.core.factor import FactorOutcome, check_code
from portvakt.crypto import otp
from portvakt.domain import Door, UserRef
from portvakt.store.models import Credential
from tests.conftest import FakeClock


def _enrol(runtime: Runtime, user: UserRef, clock: FakeClock) -> bytes:
    ctx = runtime.context(Door.CLI)
    credential_id = enrollment.begin(runtime.core, ctx, user_id=user.id, kind="totp")
    shown = enrollment.pending_display(
        runtime.core, ctx, user_id=user.id, credential_id=credential_id
    )
    seed = otp.b32decode(shown.display["secret_text"])
    code = otp.totp(seed, clock.now().timestamp())
    enrollment.confirm(runtime.core, ctx, user_id=user.id, credential_id=credential_id, code=code)
    clock.advance(seconds=30)
    return seed


def test_same_code_twenty_times_at_once_succeeds_once(
    runtime: Runtime, alice: UserRef, clock: FakeClock
) -> None:
    seed = _enrol(runtime, alice, clock)
    code = otp.totp(seed, clock.now().timestamp())
    barrier = Barrier(20)

    def attempt(n: int) -> FactorOutcome:
        ctx = runtime.context(Door.WEB, ip=f"192.0.2.{n}")
        barrier.wait()
        with runtime.core.store.write() as s:
            return check_code(s, runtime.core, ctx, user_id=alice.id, kind="totp", raw_code=code)

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert sum(o.ok for o in outcomes) == 1
    with runtime.core.store.read() as s:
        row = s.query(Credential).one()
        assert row.counter == otp.time_step(clock.now().timestamp())
