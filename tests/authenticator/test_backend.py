"""The real backend of the TUI: codes from the vault, requests and answers through the client,
and the PIN checked again for each approval (user verification)."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path

import pytest

from portvakt.protocol import DenyReason
from portvakt_authenticator.accounts import AccountKind, OtpAccount, PushAccount
from portvakt_authenticator.backend import LocalBackend, code_rows
from portvakt_authenticator.keystore import Keystore, KeystoreError, Vault
from portvakt_authenticator.stream import ChallengeArrived, StreamEvent
from tests.authenticator.fakeserver import FakeServer


def _backend(home: Path, server: FakeServer, vault: Vault) -> LocalBackend:
    transport = server.transport()
    return LocalBackend(Keystore(home), vault, transport=transport, async_transport=transport)


def test_code_rows_show_totp_codes_and_hotp_counters(
    totp_account: OtpAccount, registered: PushAccount
) -> None:
    hotp = replace(totp_account, id="h", kind=AccountKind.HOTP, counter=4)
    rows = code_rows([totp_account, hotp, registered], 59)
    assert [(r.kind, r.code, r.seconds_left, r.counter) for r in rows] == [
        (AccountKind.TOTP, "287082", 1, None),
        (AccountKind.HOTP, None, None, 4),
    ]


def test_approve_without_pin_is_not_user_verified(
    home: Path, server: FakeServer, registered: PushAccount
) -> None:
    issued = server.issue(registered.device_id)
    backend = _backend(home, server, Vault(accounts=[registered]))
    assert not backend.pin_protected
    assert [p.account_id for p in backend.push_accounts()] == [registered.id]

    async def scenario() -> str:
        (request,) = (await backend.pending()).requests
        return await backend.approve(request, "42")

    try:
        assert asyncio.run(scenario()) == "approved"
    finally:
        backend.close()
    assert issued.state == "approved" and server.answers[-1]["uv"] is False


def test_approve_with_the_pin_is_user_verified_and_a_wrong_pin_sends_nothing(
    home: Path, server: FakeServer, registered: PushAccount
) -> None:
    store = Keystore(home)
    vault = store.set_pin(Vault(accounts=[registered]), "246813")
    server.issue(registered.device_id)
    backend = _backend(home, server, vault)
    assert backend.pin_protected

    async def scenario() -> str:
        (request,) = (await backend.pending()).requests
        with pytest.raises(KeystoreError):
            await backend.approve(request, "42", pin="111111")
        assert server.answers == []
        return await backend.approve(request, "42", pin="246813")

    try:
        assert asyncio.run(scenario()) == "approved"
    finally:
        backend.close()
    assert server.answers[-1]["uv"] is True


def test_deny_and_events(home: Path, server: FakeServer, registered: PushAccount) -> None:
    issued = server.issue(registered.device_id)
    backend = _backend(home, server, Vault(accounts=[registered]))

    async def scenario() -> list[StreamEvent]:
        seen: list[StreamEvent] = []
        async with aclosing(backend.events()) as events:  # type: ignore[type-var]
            async for event in events:
                seen.append(event)
                if isinstance(event, ChallengeArrived):
                    break
        (request,) = (await backend.pending()).requests
        assert await backend.deny(request, reason=DenyReason.NOT_ME) == "denied"
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        backend.close()
    arrived = [e for e in seen if isinstance(e, ChallengeArrived)]
    assert arrived[0].request.tx == issued.tx and issued.state == "denied"
