"""SMS codes, pure: numbers, codes, the text, attempts, expiry, resend limits and budgets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import (
    ChallengeState,
    ChallengeView,
    CredentialState,
    CredentialView,
    Door,
    Purpose,
    UserRef,
)
from portvakt.errors import Invalid, Throttled
from portvakt.methods.base import ChallengeRequest, FactorResponse, Strength
from portvakt.methods.sms import SmsMethod
from portvakt.methods.sms.method import pick, resend_wait
from portvakt.methods.sms.settings import SmsSettings
from portvakt.settings import Settings

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
USER = UserRef(id=7, username="alice", display_name="Alice")
PHONE = "+4791234567"


class Clock:
    def __init__(self) -> None:
        self.current = NOW

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def clock() -> Clock:
    return Clock()


def context(tmp_path: Path, clock: Clock, **settings: object) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    conf = Settings(data_dir=tmp_path, public_url="https://mfa.example.org", **settings)  # type: ignore[arg-type]
    return Context(conf, clock, box, Door.WEB, ip="192.0.2.1")


@pytest.fixture
def ctx(tmp_path: Path, clock: Clock) -> Context:
    return context(tmp_path, clock)


def sms(**conf: object) -> SmsMethod:
    method = SmsMethod()
    method.configure(SmsSettings.model_validate(conf))
    return method


def cred(id: int = 3, phone: str = "+4791234567", **changes: object) -> CredentialView:
    found = CredentialView(
        id, 7, "sms", "", CredentialState.ACTIVE, False, {"phone": phone}, NOW, None
    )
    return replace(found, **changes)  # type: ignore[arg-type]


def issue(method: SmsMethod, ctx: Context, *creds: CredentialView) -> tuple[ChallengeView, str]:
    issued = method.challenge(
        ctx, ChallengeRequest("tx1", USER, creds or (cred(),), Purpose.SIGNIN)
    )
    text = str(issued.deliveries[0].payload["text"])
    view = ChallengeView(
        "tx1",
        "sms",
        7,
        Purpose.SIGNIN,
        ChallengeState.PENDING,
        None,
        issued.data,
        NOW,
        NOW + timedelta(seconds=issued.seconds),
    )
    return view, text.rsplit("#", 1)[1]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+47 912 34 567", "+4791234567"),
        ("912 34 567", "+4791234567"),
        ("0047 91234567", "+4791234567"),
    ],
)
def test_a_norwegian_number_is_kept_in_e164(raw: str, e164: str) -> None:
    assert sms().parse_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", ["", "   ", "12", "+47 123", "abc", "+999 12345678", "9" * 40, "+47 912 34 567 x12"]
)
def test_an_invalid_number_is_refused(raw: str) -> None:
    with pytest.raises(Invalid, match="phone_invalid"):
        sms().parse_phone(raw)


def test_a_number_outside_the_allowed_regions_is_refused() -> None:
    with pytest.raises(Invalid, match="phone_country"):
        sms().parse_phone("+46 70 123 45 67")  # Sweden: not allowed by default
    assert sms(allowed_regions="NO,SE").parse_phone("+46 70 123 45 67") == "+46701234567"


def test_settings_refuse_unknown_regions() -> None:
    with pytest.raises(ValidationError):
        SmsSettings(default_region="XX")
    with pytest.raises(ValidationError):
        SmsSettings.model_validate({"allowed_regions": ["NO", "ZZ"]})


def test_sms_is_a_weak_challenge_kind_answered_by_a_code() -> None:
    caps = SmsMethod.capabilities
    assert caps.strength is Strength.WEAK and caps.challenge and caps.interactive


def test_enrolment_sends_a_code_to_the_typed_number(ctx: Context) -> None:
    step = sms().begin_enrollment(ctx, USER, {"phone": "91234567"})
    (delivery,) = step.deliveries
    assert delivery.channel == "sms" and delivery.to == "+4791234567"
    assert step.params["phone"] == "+4791234567"
    code = str(delivery.payload["text"]).rsplit("#", 1)[1]
    assert step.secret == code.encode()
    assert {b.name for b in step.budgets} == {
        "number",
        "person_quarter",
        "person",
        "prefix",
        "person_day",
        "service",
        "address",
    }


def test_enrolment_offers_the_pre_registered_number(ctx: Context) -> None:
    step = sms().begin_enrollment(ctx, replace(USER, phone="+4791234567"))
    assert step.deliveries[0].to == "+4791234567"
    with pytest.raises(Invalid, match="phone_required"):
        sms().begin_enrollment(ctx, USER)


def test_enrolment_code_expires_after_five_minutes(ctx: Context, clock: Clock) -> None:
    method = sms()
    step = method.begin_enrollment(ctx, USER, {"phone": "+4791234567"})
    pending = cred(params=dict(step.params), secret=step.secret, state=CredentialState.PENDING)
    code = (step.secret or b"").decode()
    assert (
        not method.finish_enrollment(ctx, pending, FactorResponse(code="000000")).ok
        or code == "000000"
    )
    clock.current = NOW + timedelta(minutes=5)
    assert method.finish_enrollment(ctx, pending, FactorResponse(code=code)).reason == "expired"
    clock.current = NOW + timedelta(minutes=4, seconds=59)
    verdict = method.finish_enrollment(ctx, pending, FactorResponse(code=code))
    assert verdict.ok and verdict.forget_secret and verdict.params == {"phone": "+4791234567"}


def test_the_text_is_translated_and_ends_with_the_webotp_line(tmp_path: Path, clock: Clock) -> None:
    ctx = context(tmp_path, clock, default_language="nb")
    step = sms().begin_enrollment(ctx, USER, {"phone": "+4791234567"})
    text = str(step.deliveries[0].payload["text"])
    assert "kode" in text
    assert text.endswith(f"\n\n@mfa.example.org #{(step.secret or b'').decode()}")
    english = replace(ctx, language="en")
    text = str(
        sms()
        .begin_enrollment(english, USER, {"phone": "+4791234567"})
        .deliveries[0]
        .payload["text"]
    )
    assert "is your Portvakt code" in text


def test_a_code_works_once_and_is_bound_to_its_challenge(ctx: Context) -> None:
    method = sms()
    view, code = issue(method, ctx)
    assert "hash" in view.data and code not in str(view.data)
    assert method.verify(ctx, cred(), view, FactorResponse(code=code)).ok
    used = replace(view, state=ChallengeState.USED)
    assert method.verify(ctx, cred(), used, FactorResponse(code=code)).reason == "not_pending"
    other = replace(view, id="tx2")
    assert not method.verify(ctx, cred(), other, FactorResponse(code=code)).ok


def test_a_code_expires_after_five_minutes(ctx: Context, clock: Clock) -> None:
    method = sms()
    view, code = issue(method, ctx)
    assert view.expires_at == NOW + timedelta(minutes=5)
    clock.current = view.expires_at
    verdict = method.verify(ctx, cred(), view, FactorResponse(code=code))
    assert not verdict.ok and verdict.reason == "expired" and not verdict.counts


def test_the_fifth_wrong_attempt_ends_the_code(ctx: Context) -> None:
    method = sms()
    view, code = issue(method, ctx)
    wrong = FactorResponse(code="000000" if code != "000000" else "111111")
    for attempts in range(4):
        verdict = method.verify(ctx, cred(), view, wrong)
        assert verdict.challenge_state is ChallengeState.PENDING and verdict.counts
        assert verdict.reason == "wrong_code" and verdict.challenge_data is not None
        assert verdict.challenge_data["attempts"] == attempts + 1
        view = replace(view, data=verdict.challenge_data)
    verdict = method.verify(ctx, cred(), view, wrong)
    assert verdict.challenge_state is ChallengeState.FAILED
    assert verdict.reason == "too_many_attempts" and verdict.counts


def test_a_code_for_another_phone_changes_nothing(ctx: Context) -> None:
    method = sms()
    view, code = issue(method, ctx)
    phones = [cred(id=99), cred()]
    assert method.answering_credential(view, FactorResponse(code=code), phones) == cred()
    assert method.answering_credential(view, FactorResponse(code=code), phones[:1]) is None
    verdict = method.verify(ctx, cred(id=99), view, FactorResponse(code=code))
    assert verdict.challenge_state is ChallengeState.PENDING and not verdict.counts


def test_the_code_goes_to_the_default_number(ctx: Context) -> None:
    first, second = cred(1, "+4791234567"), cred(2, "+4791234568", is_default=True)
    assert pick([first, second]) == second
    assert pick([]) is None
    issued = sms().challenge(ctx, ChallengeRequest("tx", USER, (first, second), Purpose.SIGNIN))
    assert issued.deliveries[0].to == "+4791234568"
    assert issued.prompt == {"phone": "•••• 68"}


def test_a_new_code_waits_for_the_resend_interval(ctx: Context) -> None:
    view, _code = issue(sms(), ctx)
    recent = (replace(view, created_at=NOW - timedelta(seconds=10)),)
    request = ChallengeRequest("tx2", USER, (cred(),), Purpose.SIGNIN, recent=recent)
    with pytest.raises(Throttled) as caught:
        sms().challenge(ctx, request)
    assert caught.value.code == "code_resend" and caught.value.retry_after == 20
    assert resend_wait(recent, NOW + timedelta(seconds=30), 30) == 0


def test_a_stored_number_from_a_region_no_longer_allowed_gets_no_code(ctx: Context) -> None:
    with pytest.raises(Invalid, match="phone_country"):
        sms().challenge(
            ctx, ChallengeRequest("tx", USER, (cred(phone="+46701234567"),), Purpose.SIGNIN)
        )


def test_budgets_cover_number_person_address_and_service(ctx: Context) -> None:
    issued = sms(per_number_hour=2).challenge(
        ctx, ChallengeRequest("tx", USER, (cred(),), Purpose.SIGNIN)
    )
    budgets = {b.name: b for b in issued.budgets}
    assert budgets["number"].limit == 2 and "+47" not in budgets["number"].key
    assert budgets["address"].key.endswith("192.0.2.1")
    assert budgets["person_day"].seconds == 86400


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("123 456", "123456"), ("123-456", "123456"), ("12345", None), ("١٢٣٤٥٦", None)],
)
def test_normalise_response(raw: str, clean: str | None) -> None:
    assert sms().normalise_response(raw) == clean


def test_what_can_never_verify_is_refused(ctx: Context) -> None:
    method = sms()
    assert method.verify(ctx, cred(), None, FactorResponse(code="123456")).reason == "no_challenge"
    blank = cred(state=CredentialState.PENDING, params={"phone": PHONE})
    assert (
        method.finish_enrollment(ctx, blank, FactorResponse(code="123456")).reason == "wrong_code"
    )
    with pytest.raises(Invalid, match="kind_not_allowed"):
        method.challenge(ctx, ChallengeRequest("tx", USER, (), Purpose.SIGNIN))
    assert method.prompt(ctx, replace(issue(method, ctx)[0], data={})) == {}


def test_a_stored_number_that_no_longer_parses_is_not_allowed() -> None:
    from portvakt.methods.sms import phone

    assert not phone.allowed("not a number", frozenset({"NO"}))
    assert phone.allowed(PHONE, frozenset({"NO"}))


def test_settings_read_regions_from_text_and_lists() -> None:
    assert SmsSettings(default_region="se").regions == {"SE"}
    assert SmsSettings.model_validate({"allowed_regions": "no, se"}).regions == {"NO", "SE"}
    with pytest.raises(ValidationError):
        SmsSettings.model_validate({"allowed_regions": 5})


def test_the_validate_api_spends_no_address_budget(ctx: Context) -> None:
    api = replace(ctx, door=Door.API)  # the address is the integration's, shared by many
    issued = sms().challenge(api, ChallengeRequest("tx", USER, (cred(),), Purpose.API))
    assert "address" not in {b.name for b in issued.budgets}


def test_a_person_gets_three_codes_in_15_minutes_and_a_range_is_budgeted(ctx: Context) -> None:
    """SECURITY.md OOB-03: at most 3 sends per 15 minutes per person (configurable), and a
    budget per destination prefix against SMS pumping."""
    from portvakt.methods.sms.method import prefix_of

    budgets = {b.name: b for b in sms().begin_enrollment(ctx, USER, {"phone": "91234567"}).budgets}
    assert budgets["person_quarter"].limit == 3 and budgets["person_quarter"].seconds == 900
    assert budgets["prefix"].key == "sms-prefix:+47912"
    assert prefix_of("+4791234567") == prefix_of("+4791299999") != prefix_of("+4792234567")
