"""The temporary access pass through the real app: issued by the operator, typed after the
password instead of the second factor, it opens a session that may only add a method (every
other account action and step-up are refused, a device is never remembered); adding a method
ends that session and the person signs in again with the new method. Expired, used-up, wrong
and replaced passes are refused with a clear message; each sign-in uses one up, once even
under concurrency; the validate API never takes one (SECURITY.md REC-05; the single use as
REC-02 asks of recovery codes; never a remembered device or a step-up: SES-06)."""

from __future__ import annotations

import re
import threading

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import enrollment, passes, signin
from portvakt.crypto import otp
from portvakt.domain import Door, SignInStage, UserRef
from portvakt.errors import Denied, Invalid
from portvakt.store.models import AuditEvent, Credential, RememberedDevice, User, WebSession
from tests.conftest import PASSWORD, FakeClock
from tests.integration.validate.conftest import bearer, new_key
from tests.integration.web import flows


def _issue(runtime: Runtime, *, hours: int = 1, uses: int = 1) -> str:
    ctx = runtime.context(Door.CLI, actor="cli:helpdesk")
    return passes.issue(runtime.core, ctx, username="alice", hours=hours, uses=uses).shown


def _use(client: TestClient, value: str, *, remember: bool = False) -> httpx.Response:
    flows.post_password(client)
    data = {"code": value, "kind": "tap", "csrf_token": flows.token(client)}
    if remember:
        data["remember"] = "on"
    return client.post("/signin/factor", data=data)


def _scope(runtime: Runtime) -> list[str]:
    with runtime.core.store.read() as s:
        return [row.scope for row in s.query(WebSession).all()]


def _add_totp(client: TestClient, clock: FakeClock) -> tuple[httpx.Response, str]:
    """On the add page: an authenticator app, confirmed with its first code."""
    page = client.post(
        "/account/methods/add", data={"kind": "totp", "csrf_token": flows.token(client)}
    )
    assert page.status_code == 200 and page.url.path.endswith("/confirm"), page.text
    secret = flows.secret_on_page(page.text)
    done = client.post(
        str(page.url.path),
        data={"code": flows.code_at(secret, clock), "csrf_token": flows.token(client)},
    )
    return done, secret


def test_a_person_without_methods_signs_in_with_the_pass_and_adds_an_app(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    value = _issue(runtime)
    assert re.fullmatch(r"([2-9a-hjkmnp-z]{4}-){3}[2-9a-hjkmnp-z]{4}", value)
    with runtime.core.store.read() as s:
        row = s.query(Credential).filter_by(user_id=alice.id, kind="tap").one()
        assert row.secret is None and not row.is_default and row.last_used_at is None
        assert value.replace("-", "") not in str(row.params)
    factor = flows.post_password(client)
    assert factor.url.path == "/signin/factor"  # not the first-activation page with its skip
    assert 'id="access-pass"' in factor.text and "remember" not in factor.text
    done = client.post(
        "/signin/factor",
        data={
            "code": value.upper().replace("-", " "),
            "kind": "tap",
            "csrf_token": flows.token(client),
        },
    )
    assert done.status_code == 200 and done.url.path == "/account/methods/add", done.text
    assert 'id="restricted"' in done.text
    kinds = re.findall(r'name="kind" value="([a-z]+)"', done.text)
    assert "totp" in kinds and "tap" not in kinds and "recovery" not in kinds
    assert _scope(runtime) == ["enrollment"]
    confirmed, secret = _add_totp(client, clock)
    assert confirmed.status_code == 200
    assert "Sign in again with it" in confirmed.text
    assert flows.cookie(client, "pv_session") is None and _scope(runtime) == []
    assert client.get("/account").url.path == "/signin"
    clock.advance(seconds=30)
    flows.post_password(client)
    full = flows.submit_code(client, flows.code_at(secret, clock))
    assert full.url.path == "/account" and _scope(runtime) == ["full"]
    table = full.text.split('class="methods stack"')[1].split("</table>")[0]
    assert "Temporary access pass" in table and "0 uses left" in table and "Valid until" in table
    with runtime.core.store.read() as s:
        events = [(e.event, e.method, e.details) for e in s.query(AuditEvent).all()]
    issued = [e for e in events if e[0] == "method.issued"]
    assert issued and issued[0][1] == "tap" and issued[0][2]["uses"] == 1
    assert ("signin.succeeded", "tap", {"scope": "enrollment"}) in events
    assert any(e[0] == "method.added" and e[1] == "totp" for e in events)


def test_a_pass_session_is_refused_everything_but_adding_a_method(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)  # then the phone is lost
    value = _issue(runtime)
    flows.post_password(client)
    other = client.get("/signin/factor?other=1")
    assert 'id="access-pass"' in other.text
    answer = _use(client, value, remember=True)
    assert answer.url.path == "/account/methods/add"
    assert flows.cookie(client, "pv_device") is None
    with runtime.core.store.read() as s:
        assert s.query(RememberedDevice).count() == 0
        totp_id = s.query(Credential).filter_by(user_id=alice.id, kind="totp").one().id
    for page in ("/account", "/account/verify", "/", "/signin"):
        assert client.get(page).url.path == "/account/methods/add", page
    token = flows.token(client)
    for form, data in (
        (f"/account/methods/{totp_id}/delete", {}),
        (f"/account/methods/{totp_id}/rename", {"label": "x"}),
        (f"/account/methods/{totp_id}/default", {}),
        ("/account/devices/1/revoke", {}),
        ("/account/signout-everywhere", {}),
        ("/account/verify", {"code": flows.code_at(secret, clock), "kind": "totp"}),
        ("/account/verify/push", {}),
    ):
        refused = client.post(form, data={**data, "csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 403, form
        assert "finish adding a sign-in method first" in refused.text
    with runtime.core.store.read() as s:
        assert s.query(Credential).filter_by(id=totp_id).one().label == ""
    assert _scope(runtime) == ["enrollment"]
    assert flows.sign_out(client).url.path == "/signin"
    assert _scope(runtime) == []


def test_the_pass_never_proves_a_step_up(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    value = _issue(runtime, uses=3)
    page = client.get("/account/verify")
    assert 'id="access-pass"' not in page.text
    step = client.post(
        "/account/verify", data={"code": value, "kind": "tap", "csrf_token": flows.token(client)}
    )
    assert step.status_code == 401
    anyway = client.post("/account/verify", data={"code": value, "csrf_token": flows.token(client)})
    assert anyway.status_code == 401
    with runtime.core.store.read() as s:
        assert s.query(Credential).filter_by(kind="tap").one().params["used"] == []


def test_expired_used_up_wrong_and_replaced_passes_are_refused_clearly(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    flows.enrolled_user(client, clock)  # the lost phone's app: the pass is another way in
    value = _issue(runtime, hours=2, uses=2)
    wrong = _use(client, "2345-6789-abcd-efgh")
    assert wrong.status_code == 401 and "didn&#39;t work" in wrong.text
    malformed = _use(client, "not a pass")
    assert malformed.status_code == 400
    for _ in range(2):  # two uses
        assert _use(client, value).url.path == "/account/methods/add"
        flows.sign_out(client)
    used_up = _use(client, value)
    assert used_up.status_code == 401 and "used up" in used_up.text
    fresh = _issue(runtime, hours=2, uses=1)
    replaced = _use(client, value)  # the older pass no longer works
    assert replaced.status_code == 401 and "didn&#39;t work" in replaced.text
    clock.advance(seconds=2 * 3600)
    expired = _use(client, fresh)
    assert expired.status_code == 401 and "expired" in expired.text
    with runtime.core.store.read() as s:
        assert s.query(Credential).filter_by(kind="tap").count() == 1
        reasons = [
            e.details.get("reason")
            for e in s.query(AuditEvent).filter_by(event="factor.failed").all()
            if e.details
        ]
        user = s.query(User).filter_by(id=alice.id).one()
    assert "credential_used_up" in reasons and "credential_expired" in reasons
    assert user.factor_failures == 1  # the replaced pass (a sign-in reset the wrong one's)


def test_the_validate_api_never_takes_a_pass(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    value = _issue(runtime)
    key = new_key(runtime, "vpn")
    body = {"username": "alice", "code": value}
    answer = client.post("/api/v1/validate", json=body, headers=bearer(key))
    assert answer.json().get("status") != "accept"
    with runtime.core.store.read() as s:
        assert s.query(Credential).filter_by(kind="tap").one().params["used"] == []


def test_one_use_signs_in_once_under_concurrency(
    alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    value = _issue(runtime)
    ctx = runtime.context(Door.WEB, ip="192.0.2.9")
    tokens = [
        signin.submit_password(
            runtime.core, ctx, username="alice", password=PASSWORD, device_token=None
        ).signin_token
        for _ in range(4)
    ]
    pending = [signin.load(runtime.core, ctx, token) for token in tokens]
    assert all(p.stage is SignInStage.FACTOR for p in pending)
    results: list[str] = []
    start = threading.Barrier(len(pending))

    def attempt(one: signin.PendingSignIn) -> None:
        start.wait()
        try:
            signin.submit_code(runtime.core, ctx, one, kind="tap", code=value, remember=False)
            results.append("ok")
        except Denied as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1, results
    with runtime.core.store.read() as s:
        assert s.query(Credential).filter_by(kind="tap").one().params["used"] == ["0"]


@pytest.mark.parametrize("hours", [0, 73])
def test_out_of_bounds_passes_are_not_issued(runtime: Runtime, alice: UserRef, hours: int) -> None:
    with pytest.raises(Invalid, match="1–72"):
        _issue(runtime, hours=hours)


def test_a_method_activated_out_of_band_ends_the_pass_session_too(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    value = _issue(runtime)
    assert _use(client, value).url.path == "/account/methods/add"
    clock.advance(seconds=5)
    ctx = runtime.context(Door.WEB)  # as an app would finish it, through the core
    pending = enrollment.begin(runtime.core, ctx, user_id=alice.id, kind="totp")
    shown = enrollment.pending_display(runtime.core, ctx, user_id=alice.id, credential_id=pending)
    seed = str(shown.display["secret_text"]).replace(" ", "")
    code = otp.totp(otp.b32decode(seed), clock.now().timestamp())
    enrollment.confirm(runtime.core, ctx, user_id=alice.id, credential_id=pending, code=code)
    back = client.get("/account")  # where an out-of-band enrolment page goes when done
    assert back.url.path == "/account/methods/add" and "Sign in again with it" in back.text
    assert _scope(runtime) == []


def test_a_person_left_with_only_a_spent_pass_signs_in_as_one_without_methods(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    value = _issue(runtime)
    assert _use(client, value).url.path == "/account/methods/add"
    flows.sign_out(client)
    assert flows.post_password(client).url.path == "/signin/activate"  # the pass is no way in
    clock.advance(seconds=30)
    flows.activate_totp(client, clock)
    assert _scope(runtime) == ["full"]
    flows.sign_out(client)
    _issue(runtime, hours=1)
    clock.advance(seconds=2 * 3600)
    factor = flows.post_password(client)  # an app is there: the expired pass is still offered
    assert factor.url.path == "/signin/factor"


def test_a_pass_session_lasts_an_hour_at_most(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    value = _issue(runtime, hours=3)
    assert _use(client, value).url.path == "/account/methods/add"
    clock.advance(seconds=50 * 60)
    assert client.get("/account/methods/add").url.path == "/account/methods/add"  # still busy
    clock.advance(seconds=15 * 60)
    assert client.get("/account/methods/add").url.path == "/signin"
    assert _scope(runtime) == []
