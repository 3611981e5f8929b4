"""What the TUI needs from the rest of the app, as one small interface: codes, push accounts,
pending requests, answers and an event source. ``LocalBackend`` is the real one (the keystore
and ``client.py``); tests drive the TUI with a fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from portvakt.protocol import DenyReason
from portvakt_authenticator.accounts import Account, AccountKind, OtpAccount, PushAccount
from portvakt_authenticator.client import Answer, ClientError, Pending, PushClient, Request
from portvakt_authenticator.keystore import Keystore, Vault
from portvakt_authenticator.stream import StreamEvent, watch_all


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One code-generator account now: a TOTP code and its seconds left, or a HOTP counter."""

    account_id: str
    name: str
    kind: AccountKind
    code: str | None = None
    seconds_left: int | None = None
    period: int | None = None
    counter: int | None = None


@dataclass(frozen=True, slots=True)
class PushRow:
    account_id: str
    name: str
    server: str


def code_rows(accounts: Sequence[Account], now: float) -> list[CodeRow]:
    """TOTP accounts show their current code; HOTP accounts only their counter (a HOTP code is
    used up when shown, so it is produced only on request: ``codes --next``)."""
    rows: list[CodeRow] = []
    for account in accounts:
        if not isinstance(account, OtpAccount):
            continue
        if account.kind is AccountKind.TOTP:
            code, left = account.totp(now)
            rows.append(CodeRow(account.id, account.name, account.kind, code, left, account.period))
        else:
            rows.append(CodeRow(account.id, account.name, account.kind, counter=account.counter))
    return rows


def push_accounts(accounts: Sequence[Account]) -> list[PushAccount]:
    return [a for a in accounts if isinstance(a, PushAccount)]


class Backend(Protocol):
    @property
    def pin_protected(self) -> bool:
        """Approving asks for the PIN (user verification) when the store has one."""
        ...

    def codes(self, now: float) -> list[CodeRow]: ...

    def push_accounts(self) -> list[PushRow]: ...

    async def pending(self) -> Pending: ...

    async def approve(self, request: Request, number: str, *, pin: str | None = None) -> str:
        """Send the approval; the server's state. ``KeystoreError("wrong_pin")`` or
        ``ClientError`` if it fails."""
        ...

    async def deny(self, request: Request, *, reason: DenyReason) -> str: ...

    def events(self) -> AsyncIterator[StreamEvent]: ...


class LocalBackend:
    """The real backend: accounts from the keystore, requests through ``client.py``."""

    def __init__(
        self,
        store: Keystore,
        vault: Vault,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store = store
        self._vault = vault
        self._client = PushClient(transport=transport)
        self._async_transport = async_transport

    def close(self) -> None:
        self._client.close()

    @property
    def pin_protected(self) -> bool:
        return self._vault.encrypted

    def codes(self, now: float) -> list[CodeRow]:
        return code_rows(self._vault.accounts, now)

    def push_accounts(self) -> list[PushRow]:
        return [PushRow(a.id, a.name, a.server) for a in push_accounts(self._vault.accounts)]

    def _account(self, request: Request) -> PushAccount:
        for account in push_accounts(self._vault.accounts):
            if account.id == request.account_id:
                return account
        raise ClientError("not_found")

    async def pending(self) -> Pending:
        return await asyncio.to_thread(self._client.pending, push_accounts(self._vault.accounts))

    async def approve(self, request: Request, number: str, *, pin: str | None = None) -> str:
        uv = False
        if pin is not None:  # user verification: open the store with the PIN again, now
            uv = (await asyncio.to_thread(self._store.load, pin)).user_verified
        answer = Answer.approve(number, uv=uv)
        account = self._account(request)
        return await asyncio.to_thread(self._client.answer, account, request.view, answer)

    async def deny(self, request: Request, *, reason: DenyReason) -> str:
        account = self._account(request)
        answer = Answer.deny(reason)
        return await asyncio.to_thread(self._client.answer, account, request.view, answer)

    def events(self) -> AsyncIterator[StreamEvent]:
        return watch_all(push_accounts(self._vault.accounts), transport=self._async_transport)
