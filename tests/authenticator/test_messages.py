"""The app's messages, with keys made here: answers and registrations verify with the device key
exactly as docs/protocol.md says; challenges are refused unless the pinned server key signed
them for this device, recently."""

from __future__ import annotations

import time

import pytest

from portvakt import protocol
from portvakt.protocol import ChallengeView, Consent, DenyReason, MatchMode, MessageType
from portvakt_authenticator.accounts import PushAccount
from portvakt_authenticator.messages import (
    Answer,
    answer_token,
    auth_token,
    check_number,
    open_challenge,
    register_token,
)
from tests.authenticator.fakeserver import URL, FakeServer


def _challenge(server: FakeServer, account: PushAccount, **overrides: object) -> str:
    claims: dict[str, object] = {
        "iss": URL,
        "aud": account.device_id,
        "tx": "tx-1",
        "nonce": "n-1",
        "purpose": "signin",
        "match": {"mode": "type", "digits": 2},
        "context": {"service": "Webmail"},
    }
    claims |= overrides
    return protocol.sign(server.key, MessageType.CHALLENGE, claims, lifetime=60)


def test_valid_challenge_opens_as_a_request(server: FakeServer, registered: PushAccount) -> None:
    request = open_challenge(registered, _challenge(server, registered))
    assert request.tx == "tx-1" and request.account_id == registered.id
    assert request.view.match_mode is MatchMode.TYPE and request.view.digits == 2
    assert request.view.context == {"service": "Webmail"}


def test_forged_challenge_signed_by_another_key_is_refused(
    server: FakeServer, registered: PushAccount
) -> None:
    issued = server.issue(registered.device_id)
    forged = server.challenge_token(issued, key=protocol.generate_key())
    with pytest.raises(protocol.ProtocolError) as caught:
        open_challenge(registered, forged)
    assert caught.value.code == "bad_signature"


def test_challenge_for_another_device_is_refused(
    server: FakeServer, registered: PushAccount
) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        open_challenge(registered, _challenge(server, registered, aud="dev-other"))
    assert caught.value.code == "wrong_audience"


def test_challenge_from_another_server_url_is_refused(
    server: FakeServer, registered: PushAccount
) -> None:
    token = _challenge(server, registered, iss="https://evil.example")
    with pytest.raises(protocol.ProtocolError) as caught:
        open_challenge(registered, token)
    assert caught.value.code == "wrong_issuer"


def test_expired_challenge_is_refused(server: FakeServer, registered: PushAccount) -> None:
    token = _challenge(server, registered)
    with pytest.raises(protocol.ProtocolError) as caught:
        open_challenge(registered, token, now=time.time() + 120)
    assert caught.value.code == "expired"


def test_other_message_type_is_not_a_challenge(registered: PushAccount) -> None:
    claims = {"iss": URL, "aud": registered.device_id, "tx": "t", "nonce": "n"}
    # signed by the device key itself: wrong key *and* wrong type
    token = protocol.sign(registered.key(), MessageType.ANSWER, claims, lifetime=60)
    with pytest.raises(protocol.ProtocolError):
        open_challenge(registered, token)


def test_pick_challenge_without_choices_is_malformed(
    server: FakeServer, registered: PushAccount
) -> None:
    token = _challenge(server, registered, match={"mode": "pick", "digits": 2})
    with pytest.raises(protocol.ProtocolError) as caught:
        open_challenge(registered, token)
    assert caught.value.code == "malformed"


def _view(mode: MatchMode = MatchMode.TYPE, choices: tuple[str, ...] = ()) -> ChallengeView:
    return ChallengeView(
        tx="tx-9",
        nonce="nonce-9",
        purpose="signin",
        expires_at=int(time.time()) + 60,
        match_mode=mode,
        digits=2,
        choices=choices,
    )


def test_approve_answer_verifies_with_the_device_key(registered: PushAccount) -> None:
    token = answer_token(registered, _view(), Answer.approve(" 07 ", uv=True))
    claims = protocol.verify(
        token,
        protocol.import_public(protocol.public_jwk(registered.key())),
        MessageType.ANSWER,
        audience=URL,
        issuer=registered.device_id,
    )
    assert claims["consent"] == Consent.APPROVE.value
    assert (claims["tx"], claims["nonce"], claims["number"], claims["uv"]) == (
        "tx-9",
        "nonce-9",
        "07",
        True,
    )
    assert "reason" not in claims
    assert claims["exp"] - claims["iat"] <= 600


def test_deny_answer_carries_the_reason_and_no_number(registered: PushAccount) -> None:
    token = answer_token(registered, _view(), Answer.deny(DenyReason.NOT_ME))
    claims = protocol.peek(token)
    assert claims["consent"] == "deny" and claims["reason"] == "not_me"
    assert "number" not in claims and claims["uv"] is False
    assert protocol.peek(answer_token(registered, _view(), Answer.deny()))["reason"] == "cancelled"


@pytest.mark.parametrize("number", ["", "7", "123", "ab", "٤٢", "4 2"])
def test_numbers_that_cannot_be_right_are_not_sent(number: str) -> None:
    with pytest.raises(ValueError, match="bad_number"):
        check_number(_view(), number)


def test_pick_mode_accepts_only_one_of_the_choices() -> None:
    view = _view(MatchMode.PICK, ("17", "42", "90"))
    assert check_number(view, "42") == "42"
    with pytest.raises(ValueError, match="bad_number"):
        check_number(view, "43")


def test_approving_without_a_number_is_a_programming_error(registered: PushAccount) -> None:
    with pytest.raises(ValueError, match="needs the number"):
        answer_token(registered, _view(), Answer(Consent.APPROVE))


def test_register_token_is_signed_by_the_new_key_over_its_thumbprint(server: FakeServer) -> None:
    key = protocol.generate_key()
    token = register_token(key, server.activation(), device_name="Ola's phone")
    claims = protocol.verify(
        token,
        protocol.import_public(protocol.public_jwk(key)),
        MessageType.REGISTER,
        audience=URL,
        issuer=protocol.fingerprint(key),
    )
    assert claims["code"] == "CODE-1"
    assert claims["jwk"] == protocol.public_jwk(key) and "d" not in claims["jwk"]
    assert claims["device"]["name"] == "Ola's phone"
    assert claims["device"]["app"].startswith("portvakt-authenticator/")
    assert set(claims["capabilities"]) == {"number_type", "number_pick", "uv", "events"}


def test_auth_token_signs_the_nonce_for_a_minute(registered: PushAccount) -> None:
    claims = protocol.peek(auth_token(registered, "nonce-1"))
    assert (claims["iss"], claims["aud"], claims["nonce"]) == (
        registered.device_id,
        URL,
        "nonce-1",
    )
    assert claims["typ"] == "pv-auth" and claims["exp"] - claims["iat"] <= 60
