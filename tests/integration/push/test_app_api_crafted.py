"""The app API refuses crafted messages with a precise 4xx, never a 500 (issue 9, item 5):
issuers and activation codes that only look like ids, claims of the wrong JSON type, NUL and
non-ASCII text where the server compares or stores. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import Credential
from tests.conftest import FakeClock
from tests.integration.push.simapp import SimApp, activation_uri, add_push_device
from tests.integration.push.test_push_flow import _signed_in_with_totp
from tests.integration.web import flows

CRAFTED_ISSUERS = ["²", "².x", "1" * 40, "1" * 40 + ".x", "9" * 11 + ".x", "٣.x", "-1.x", "01.x"]


def _jws(key: ECKey, claims: dict[str, Any]) -> str:
    """A message signed as the app signs, with every claim as given (even ``typ``, ``v``)."""
    header = {"alg": protocol.ALGORITHM, "typ": "JWT", "kid": protocol.fingerprint(key)}
    return jwt.encode(header, claims, key, algorithms=[protocol.ALGORITHM])


def _claims(app: SimApp, typ: protocol.MessageType, **claims: Any) -> dict[str, Any]:
    now = int(app.clock.now().timestamp())
    base = {"typ": typ.value, "v": 1, "iat": now, "exp": now + 60, "jti": protocol.new_id()}
    return {**base, "iss": app.device_id, "aud": app.server, **claims}


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def _device(client: TestClient, clock: FakeClock) -> SimApp:
    """Signed in, with an active push device."""
    _signed_in_with_totp(client, clock)
    return add_push_device(client, clock)


def _pending_activation(client: TestClient, clock: FakeClock) -> tuple[SimApp, str]:
    """Signed in on Security info, a push device being added: the app and its activation URI."""
    _signed_in_with_totp(client, clock)
    page = client.post(
        "/account/methods/add", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    return SimApp(client, clock), activation_uri(page.text)


def _register_token(app: SimApp, uri: str, **claims: Any) -> str:
    activation = protocol.Activation.parse(uri)
    app.server = activation.server
    base = _claims(
        app,
        protocol.MessageType.REGISTER,
        iss=protocol.fingerprint(app.key),
        code=activation.code,
        jwk=protocol.public_jwk(app.key),
        device={"name": "Test phone"},
        capabilities=["uv"],
    )
    return _jws(app.key, {**base, **claims})


@pytest.mark.parametrize("issuer", CRAFTED_ISSUERS)
def test_device_requests_with_a_crafted_issuer_get_401(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    issuer: str,
) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` fails; 40 digits overflow the id column."""
    app = _device(client, clock)
    auth = _jws(app.key, _claims(app, protocol.MessageType.AUTH, iss=issuer, nonce="x"))
    header = {"authorization": f"{protocol.AUTH_SCHEME} {auth}"}
    answer = _jws(app.key, _claims(app, protocol.MessageType.ANSWER, iss=issuer, tx="x" * 22))
    replies = [
        client.get("/api/app/v1/challenges", headers=header),
        client.get("/api/app/v1/events", headers=header),
        client.post("/api/app/v1/answers", json={"token": answer}),
    ]
    assert [(r.status_code, r.json()["error"]) for r in replies] == [(401, "unauthorized")] * 3
    _no_errors(caplog)


@pytest.mark.parametrize("version", [[1], {"v": 1}, "1", None])
def test_device_messages_with_a_version_of_the_wrong_type_get_400(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    version: object,
) -> None:
    """A list is unhashable: ``[1] in {1}`` raised instead of answering ``unsupported_version``."""
    app = _device(client, clock)
    nonce = client.get("/api/app/v1/nonce").json()["nonce"]
    auth = _jws(app.key, _claims(app, protocol.MessageType.AUTH, nonce=nonce, v=version))
    reply = client.get(
        "/api/app/v1/challenges", headers={"authorization": f"{protocol.AUTH_SCHEME} {auth}"}
    )
    assert (reply.status_code, reply.json()["error"]) == (400, "unsupported_version")
    _no_errors(caplog)


@pytest.mark.parametrize("nonce", ["².x.y", "1.x.é", "1" * 40 + ".x.y", ["1.x.y"]])
def test_device_authentication_with_a_crafted_nonce_gets_401(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    nonce: object,
) -> None:
    """The server's own nonce is ``<time>.<random>.<mac>``: a signed message carrying a time of
    Unicode digits, or a non-ASCII mac (which ``hmac.compare_digest`` refuses to compare), is
    refused like any wrong nonce."""
    app = _device(client, clock)
    auth = _jws(app.key, _claims(app, protocol.MessageType.AUTH, nonce=nonce))
    reply = client.get(
        "/api/app/v1/challenges", headers={"authorization": f"{protocol.AUTH_SCHEME} {auth}"}
    )
    assert (reply.status_code, reply.json()["error"]) == (401, "unauthorized")
    _no_errors(caplog)


@pytest.mark.parametrize(
    "case",
    [
        ("².secret", 410, "activation_invalid"),
        ("1" * 40 + ".secret", 410, "activation_invalid"),
        ("9" * 11 + ".secret", 410, "activation_invalid"),
        ("-1.secret", 410, "activation_invalid"),
        (["1.secret"], 400, "malformed"),
        ({"code": "1.secret"}, 400, "malformed"),
        (1, 400, "malformed"),
    ],
    ids=repr,
)
def test_registration_with_a_crafted_activation_code_is_refused(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    case: tuple[object, int, str],
) -> None:
    """A code that is not a string is ``malformed``; one whose id is not an id is unknown."""
    code, status, error = case
    app, uri = _pending_activation(client, clock)
    token = _register_token(app, uri, code=code)
    reply = client.post("/api/app/v1/register", json={"token": token})
    assert (reply.status_code, reply.json()["error"]) == (status, error)
    _no_errors(caplog)


@pytest.mark.parametrize("jwk", [["EC", "P-256"], "EC", 5, 1.5, True])
def test_registration_with_a_jwk_of_the_wrong_type_gets_400(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    jwk: object,
) -> None:
    """A list (or anything) where the JWK object belongs: ``bad_key``, not an AttributeError."""
    app, uri = _pending_activation(client, clock)
    token = _register_token(app, uri, jwk=jwk)
    reply = client.post("/api/app/v1/register", json={"token": token})
    assert (reply.status_code, reply.json()["error"]) == (400, "bad_key")
    _no_errors(caplog)


@pytest.mark.parametrize(
    "case",
    [
        ({"name": "Pho\x00ne\x07"}, ["uv"], "Phone", ["uv"]),
        ({"name": ["x"], "platform": "a\x00"}, 5, "", []),
        ("a phone", "uv", "", []),
        ({"name": "Phone"}, [["uv"], "uv", 7, "e\x00vents"], "Phone", ["uv"]),
    ],
    ids=repr,
)
def test_registration_stores_device_details_only_as_clean_text(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    case: tuple[object, object, str, list[str]],
) -> None:
    """The device's name (which becomes the method's label), platform and capabilities are
    the app's own words: control characters (NUL, which PostgreSQL cannot store, among them)
    and values of the wrong type are left out rather than stored or crashed on."""
    device, capabilities, label, stored = case
    app, uri = _pending_activation(client, clock)
    token = _register_token(app, uri, device=device, capabilities=capabilities)
    reply = client.post("/api/app/v1/register", json={"token": token})
    assert reply.status_code == 201, reply.text
    with runtime.core.store.read() as s:
        row = s.query(Credential).filter_by(kind="push").one()
        assert row.label == label
        assert row.params["capabilities"] == stored
        assert all(text.isprintable() for text in row.params["device"].values()), row.params[
            "device"
        ]
    _no_errors(caplog)


@pytest.mark.parametrize("tx", ["\x00", "ab\x00cd", "x" * 5000, ["tx"], {"tx": 1}, 5])
def test_answer_with_a_crafted_challenge_id_gets_400(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    tx: object,
) -> None:
    """The challenge id of a signed answer reaches a database lookup: NUL broke it on
    PostgreSQL. An id that cannot be one is ``malformed``."""
    app = _device(client, clock)
    token = _jws(app.key, _claims(app, protocol.MessageType.ANSWER, tx=tx, nonce="n"))
    reply = client.post("/api/app/v1/answers", json={"token": token})
    assert (reply.status_code, reply.json()["error"]) == (400, "malformed")
    _no_errors(caplog)


def test_answer_with_a_non_ascii_nonce_fails_as_the_wrong_challenge(
    client: TestClient, alice: UserRef, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """``hmac.compare_digest`` raises on non-ASCII text: the nonces are compared as bytes."""
    app, uri = _pending_activation(client, clock)
    assert app.register(uri).status_code == 201
    (test,) = app.challenges()
    token = app.answer_token({**test, "nonce": "ñ" * 22}, consent="approve", number="00")
    reply = client.post("/api/app/v1/answers", json={"token": token})
    assert (reply.status_code, reply.json()["error"]) == (403, "wrong_challenge")
    _no_errors(caplog)
