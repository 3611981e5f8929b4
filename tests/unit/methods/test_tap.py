"""The temporary access pass's pure parts: the pass, its bounds, its keyed hash, its end and
its uses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import CredentialState, CredentialView, Door, UserRef
from portvakt.errors import Invalid
from portvakt.methods.base import FactorResponse, Grant
from portvakt.methods.registry import Registry
from portvakt.methods.tap import TapMethod
from portvakt.methods.tap.method import ALPHABET, LENGTH, expires_at, shown, uses_left
from portvakt.methods.tap.settings import TapSettings
from portvakt.settings import Settings

NOW = datetime(2026, 12, 5, 12, 0, 30, 123456, tzinfo=UTC)
ALICE = UserRef(id=7, username="alice", display_name="Alice")


class _Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def ctx(tmp_path: Path, clock: _Clock) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), clock, box, Door.WEB)


def _issued(
    ctx: Context, method: TapMethod | None = None, **given: int | None
) -> tuple[CredentialView, str]:
    method = method or TapMethod()
    issued = method.issue(ctx, ALICE, hours=given.get("hours"), uses=given.get("uses"))
    cred = CredentialView(
        1, ALICE.id, "tap", "", CredentialState.ACTIVE, False, dict(issued.params), NOW, None
    )
    return cred, issued.shown


def _plain(value: str) -> str:
    normalised = TapMethod().normalise_response(value)
    assert normalised is not None
    return normalised


def test_the_pass_is_long_unambiguous_grouped_and_kept_only_as_a_keyed_hash(
    ctx: Context,
) -> None:
    cred, value = _issued(ctx)
    groups = value.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4] and len(value.replace("-", "")) == LENGTH
    assert set(value.replace("-", "")) <= set(ALPHABET)
    assert not set("01ilo") & set(ALPHABET)
    assert _plain(value) not in str(cred.params) and value not in str(cred.params)
    assert cred.params["hash"] == TapMethod.digest(ctx, ALICE.id, _plain(value))
    assert TapMethod.digest(ctx, 8, _plain(value)) != cred.params["hash"]  # bound to the person
    assert _issued(ctx)[1] != value
    assert shown("abcdefgh") == "abcd-efgh"


def test_defaults_and_bounds_come_from_the_settings(ctx: Context) -> None:
    cred, _value = _issued(ctx)
    assert expires_at(cred) == (NOW + timedelta(hours=1)).replace(microsecond=0)
    assert cred.params["uses"] == 1 and uses_left(cred) == 1
    issued = TapMethod().issue(ctx, ALICE, hours=72, uses=10)
    assert issued.expires_at == (NOW + timedelta(hours=72)).replace(microsecond=0)
    assert issued.uses == 10 and "shown" not in repr(issued) and issued.shown not in repr(issued)
    for hours, uses, code in ((0, 1, "hours"), (73, 1, "hours"), (1, 0, "uses"), (1, 11, "uses")):
        with pytest.raises(Invalid) as caught:
            TapMethod().issue(ctx, ALICE, hours=hours, uses=uses)
        assert caught.value.code == f"{code}_out_of_range"
    configured = Registry(
        (TapMethod,), {"tap": {"default_hours": 8, "max_hours": 240, "default_uses": 2}}
    ).get("tap")
    assert isinstance(configured, TapMethod) and configured.conf.max_hours == 240
    cred, _value = _issued(ctx, configured)
    assert expires_at(cred) - NOW.replace(microsecond=0) == timedelta(hours=8)
    assert uses_left(cred) == 2
    assert configured.issue(ctx, ALICE, hours=240, uses=None).uses == 2


def test_settings_refuse_defaults_above_their_maximum() -> None:
    with pytest.raises(ValidationError):
        TapSettings(default_hours=10, max_hours=5)
    with pytest.raises(ValidationError):
        TapSettings(default_uses=3, max_uses=2)
    with pytest.raises(ValidationError):
        TapSettings(surprise=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abcd-efgh-jkmn-pqrs", "abcdefghjkmnpqrs"),
        (" ABCD EFGH JKMN PQRS ", "abcdefghjkmnpqrs"),
        ("abcd-efgh-jkmn-pqr", None),  # too short
        ("abcd-efgh-jkmn-pqrst", None),  # too long
        ("abcd-efgh-jkmn-pqr1", None),  # a look-alike is never in a pass
        ("", None),
    ],
)
def test_normalise(raw: str, expected: str | None) -> None:
    assert TapMethod().normalise_response(raw) == expected


def test_verify_a_right_pass_uses_one_up(ctx: Context) -> None:
    method = TapMethod()
    cred, value = _issued(ctx, uses=3)
    verdict = method.verify(ctx, cred, None, FactorResponse(code=_plain(value)))
    assert verdict.ok and verdict.consumed == "0" and verdict.details == {"uses_left": 2}
    cred = replace(cred, params={**cred.params, "used": ["0", "1"]})
    last = method.verify(ctx, cred, None, FactorResponse(code=_plain(value)))
    assert last.ok and last.consumed == "2" and last.details == {"uses_left": 0}
    cred = replace(cred, params={**cred.params, "used": ["0", "1", "2"]})
    spent = method.verify(ctx, cred, None, FactorResponse(code=_plain(value)))
    assert not spent.ok and spent.reason == "used_up" and spent.consumed is None
    assert uses_left(replace(cred, params={**cred.params, "used": ["0"] * 5})) == 0


def test_verify_refuses_a_wrong_pass_before_saying_anything_else(
    ctx: Context, clock: _Clock
) -> None:
    method = TapMethod()
    cred, value = _issued(ctx)
    other = "2" * LENGTH if _plain(value) != "2" * LENGTH else "3" * LENGTH
    assert method.verify(ctx, cred, None, FactorResponse(code=other)).reason == "wrong_code"
    clock.at = NOW + timedelta(hours=2)
    assert method.verify(ctx, cred, None, FactorResponse(code=other)).reason == "wrong_code"
    expired = method.verify(ctx, cred, None, FactorResponse(code=_plain(value)))
    assert not expired.ok and expired.reason == "expired"
    clock.at = expires_at(cred)  # the end itself is outside
    assert method.verify(ctx, cred, None, FactorResponse(code=_plain(value))).reason == "expired"
    clock.at = expires_at(cred) - timedelta(seconds=1)
    assert method.verify(ctx, cred, None, FactorResponse(code=_plain(value))).ok
    broken = replace(cred, params={k: v for k, v in cred.params.items() if k != "hash"})
    assert method.verify(ctx, broken, None, FactorResponse(code=_plain(value))).reason == (
        "wrong_code"
    )


def test_a_pass_is_usable_until_its_end_or_its_last_use(ctx: Context, clock: _Clock) -> None:
    method = TapMethod()
    cred, _value = _issued(ctx, uses=2)
    assert method.usable(ctx, cred)
    assert method.usable(ctx, replace(cred, params={**cred.params, "used": ["0"]}))
    assert not method.usable(ctx, replace(cred, params={**cred.params, "used": ["0", "1"]}))
    clock.at = expires_at(cred)
    assert not method.usable(ctx, cred)


def test_begin_enrollment_and_display_for_the_contract(ctx: Context) -> None:
    method = TapMethod()
    step = method.begin_enrollment(ctx, ALICE)
    assert step.secret is not None and step.params["uses"] == 1
    value = step.secret.decode()
    cred = CredentialView(
        1, ALICE.id, "tap", "", CredentialState.PENDING, False, dict(step.params), NOW, None
    )
    assert method.finish_enrollment(ctx, cred, FactorResponse(code=_plain(value))).ok
    display = method.enrollment_display(ctx, ALICE, cred)
    assert display == {"expires_at": expires_at(cred), "uses_left": 1}


def test_capabilities_say_what_the_core_and_doors_rely_on() -> None:
    caps = TapMethod.capabilities
    assert caps.issued_by_operator and not caps.enrollable and caps.fallback
    assert caps.grants is Grant.ENROLLMENT and caps.one_per_person
    assert caps.doors == frozenset({"web"}) and not caps.challenge
    assert TapMethod().conf == TapSettings()


def test_a_pass_never_reaches_an_apps_level_by_step_up() -> None:
    from portvakt.core.oidc.levels import Level, reachable
    from portvakt.methods.registry import BUILT_IN

    registry = Registry(BUILT_IN)
    assert not reachable(registry, ["tap"], Level.MFA)
    assert reachable(registry, ["tap", "totp"], Level.MFA)
