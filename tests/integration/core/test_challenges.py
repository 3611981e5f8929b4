"""The generic challenge flow as core use-cases, without HTTP: issue, answer under the row lock,
use once; the lock state one wrong answer moves; deliveries need a port."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.app import Runtime
from portvakt.context import Context
from portvakt.core import challenged, challenges, devices, enrollment, sessions
from portvakt.domain import Door, Purpose, UserRef
from portvakt.errors import Denied, Invalid, NotFound
from portvakt.methods.base import Delivery, Issued
from portvakt.methods.push.device import number_for
from portvakt.store.models import Challenge, User
from portvakt.store.repos.challenges import Binding
from tests.conftest import FakeClock

SERVER = "https://mfa.example.org"


def _web(runtime: Runtime) -> Context:
    return runtime.context(Door.WEB, base_url=SERVER)


def _sign(runtime: Runtime, key: ECKey, typ: protocol.MessageType, claims: dict[str, Any]) -> str:
    now = runtime.clock.now().timestamp()
    return protocol.sign(key, typ, {"aud": SERVER, **claims}, lifetime=60, now=now)


def _device(runtime: Runtime, alice: UserRef) -> tuple[ECKey, str]:
    """A device added and activated through the core alone: (its key, its device id)."""
    ctx = _web(runtime)
    credential_id = enrollment.begin(runtime.core, ctx, user_id=alice.id, kind="push")
    shown = devices.enrollment_display(
        runtime.core, ctx, user_id=alice.id, credential_id=credential_id
    )
    code = protocol.Activation.parse(shown.display["uri"]).code
    key = protocol.generate_key()
    claims = {"iss": protocol.fingerprint(key), "code": code, "jwk": protocol.public_jwk(key)}
    answer = devices.register(
        runtime.core, ctx, _sign(runtime, key, protocol.MessageType.REGISTER, claims)
    )
    device_id = answer["device_id"]
    shown = devices.enrollment_display(
        runtime.core, ctx, user_id=alice.id, credential_id=credential_id
    )
    assert shown.display["state"] == "waiting_for_approval"
    with runtime.core.store.read() as s:
        test = s.query(Challenge).filter_by(credential_id=credential_id).one()
        nonce = test.data["nonce"]
    approve = {
        "iss": device_id,
        "tx": test.id,
        "nonce": nonce,
        "consent": "approve",
        "number": shown.display["number"],
    }
    assert (
        devices.answer(runtime.core, ctx, _sign(runtime, key, protocol.MessageType.ANSWER, approve))
        == "approved"
    )
    shown = devices.enrollment_display(
        runtime.core, ctx, user_id=alice.id, credential_id=credential_id
    )
    assert shown.display["state"] == "active"
    return key, device_id


def _reply(runtime: Runtime, key: ECKey, device_id: str, tx: str, **claims: Any) -> str:
    with runtime.core.store.read() as s:
        row = s.get(Challenge, tx)
        assert row is not None
        nonce = row.data["nonce"]
    body = {"iss": device_id, "tx": tx, "nonce": nonce, **claims}
    return devices.answer(
        runtime.core, _web(runtime), _sign(runtime, key, protocol.MessageType.ANSWER, body)
    )


def test_a_step_up_is_issued_approved_and_used_once(runtime: Runtime, alice: UserRef) -> None:
    key, device_id = _device(runtime, alice)
    ctx = _web(runtime)
    with runtime.core.store.write() as s:
        sessions_token = sessions.create(s, ctx, user_id=alice.id, method="password", factor=False)
    live = sessions.load(runtime.core, ctx, sessions_token)
    assert live is not None
    shown = challenged.start_step_up(runtime.core, ctx, live, "push")
    assert shown.prompt["number"] == number_for(ctx, shown.id, 2)
    with pytest.raises(Denied):
        challenged.finish_step_up(runtime.core, ctx, live, shown.id)  # not approved yet
    assert (
        _reply(runtime, key, device_id, shown.id, consent="approve", number=shown.prompt["number"])
        == "approved"
    )
    challenged.finish_step_up(runtime.core, ctx, live, shown.id)
    with pytest.raises(Denied):
        challenged.finish_step_up(runtime.core, ctx, live, shown.id)  # used
    fresh = sessions.load(runtime.core, ctx, sessions_token)
    assert fresh is not None and fresh.factor_at is not None and fresh.method == "push"


def test_another_binding_never_sees_or_uses_a_challenge(runtime: Runtime, alice: UserRef) -> None:
    _device(runtime, alice)
    ctx = _web(runtime)
    shown = challenges.issue(
        runtime.core,
        ctx,
        user=alice,
        kind="push",
        purpose=Purpose.API,
        binding=Binding(integration_id=None, signin_id="a" * 64),
    )
    with pytest.raises(NotFound):
        challenges.view(runtime.core, ctx, shown.id, Binding(signin_id="b" * 64), alice.id)
    with runtime.core.store.write() as s:
        assert challenges.use(s, shown.id, Binding(signin_id="b" * 64)) is False


def test_a_wrong_number_counts_one_failure_on_the_one_lock(
    runtime: Runtime, alice: UserRef
) -> None:
    key, device_id = _device(runtime, alice)
    ctx = _web(runtime)
    shown = challenges.issue(
        runtime.core,
        ctx,
        user=alice,
        kind="push",
        purpose=Purpose.SIGNIN,
        binding=Binding(signin_id="s" * 64),
    )
    wrong = "00" if shown.prompt["number"] != "00" else "01"
    with pytest.raises(Denied, match="wrong_number"):
        _reply(runtime, key, device_id, shown.id, consent="approve", number=wrong)
    with runtime.core.store.read() as s:
        user = s.get(User, alice.id)
        assert user is not None and user.factor_failures == 1
    with pytest.raises(Denied, match="not_pending"):  # answered once, for good
        _reply(runtime, key, device_id, shown.id, consent="approve", number=shown.prompt["number"])


def test_a_denial_by_the_person_is_not_a_wrong_answer(
    runtime: Runtime, alice: UserRef, clock: FakeClock
) -> None:
    key, device_id = _device(runtime, alice)
    ctx = _web(runtime)
    shown = challenges.issue(
        runtime.core,
        ctx,
        user=alice,
        kind="push",
        purpose=Purpose.SIGNIN,
        binding=Binding(signin_id="s" * 64),
    )
    assert _reply(runtime, key, device_id, shown.id, consent="deny", reason="not_me") == "denied"
    with runtime.core.store.read() as s:
        user = s.get(User, alice.id)
        assert user is not None and user.factor_failures == 0
    with pytest.raises(Exception, match="push_paused"):
        challenges.issue(
            runtime.core,
            ctx,
            user=alice,
            kind="push",
            purpose=Purpose.SIGNIN,
            binding=Binding(signin_id="s" * 64),
        )


def test_a_delivery_without_a_port_stores_nothing(
    runtime: Runtime, alice: UserRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    _device(runtime, alice)
    method = runtime.core.registry.get("push")
    real = method.challenge

    def by_sms(ctx: Context, request: Any) -> Issued:
        issued = real(ctx, request)
        return replace(issued, deliveries=(Delivery("sms", "+4799999999", {"code": "1"}),))

    monkeypatch.setattr(method, "challenge", by_sms)
    ctx = _web(runtime)
    with runtime.core.store.read() as s:
        before = s.query(Challenge).count()
    with pytest.raises(Invalid, match="channel_unavailable"):
        challenges.issue(
            runtime.core,
            ctx,
            user=alice,
            kind="push",
            purpose=Purpose.SIGNIN,
            binding=Binding(signin_id="s" * 64),
        )
    with runtime.core.store.read() as s:
        assert s.query(Challenge).count() == before


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def send(self, to: str, payload: Any) -> None:
        self.sent.append((to, dict(payload)))


def test_a_delivery_goes_to_its_port_after_the_commit(
    runtime: Runtime, alice: UserRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    _device(runtime, alice)
    method = runtime.core.registry.get("push")
    real = method.challenge
    monkeypatch.setattr(
        method,
        "challenge",
        lambda ctx, request: replace(
            real(ctx, request), deliveries=(Delivery("sms", "+4799999999", {"code": "1"}),)
        ),
    )
    recorder = Recorder()
    core = replace(runtime.core, senders={"sms": recorder})
    challenges.issue(
        core,
        _web(runtime),
        user=alice,
        kind="push",
        purpose=Purpose.SIGNIN,
        binding=Binding(signin_id="s" * 64),
    )
    assert recorder.sent == [("+4799999999", {"code": "1"})]


def test_a_kind_that_is_not_allowed_or_issues_nothing_is_refused(
    runtime: Runtime, alice: UserRef
) -> None:
    ctx = _web(runtime)
    for kind in ("totp", "sms", "push"):  # push: alice has no device yet
        with pytest.raises(Invalid):
            challenges.issue(
                runtime.core,
                ctx,
                user=alice,
                kind=kind,
                purpose=Purpose.SIGNIN,
                binding=Binding(signin_id="s" * 64),
            )
