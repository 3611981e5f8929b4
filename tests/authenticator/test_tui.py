"""The Textual app driven by its pilot with a fake backend: an incoming request pops up, the
person types the number and approves (or says it was not them); requests answered elsewhere
close by themselves. pytest-asyncio is not used: each test runs its scenario with asyncio.run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from portvakt.protocol import ChallengeView, DenyReason, MatchMode
from portvakt_authenticator.accounts import AccountKind
from portvakt_authenticator.backend import CodeRow, PushRow
from portvakt_authenticator.client import Pending, Request
from portvakt_authenticator.keystore import KeystoreError
from portvakt_authenticator.stream import (
    ChallengeArrived,
    ChallengeClosed,
    ConnectionChanged,
    ConnectionState,
    StreamEvent,
)
from portvakt_authenticator.tui import AuthenticatorApp, RequestScreen, seconds_bar


@dataclass
class FakeBackend:
    pin_protected: bool = False
    pin: str = "2468"
    queue: asyncio.Queue[StreamEvent] = field(default_factory=asyncio.Queue)
    waiting: list[Request] = field(default_factory=list)
    approved: list[tuple[str, str, str | None]] = field(default_factory=list)
    denied: list[tuple[str, DenyReason]] = field(default_factory=list)

    def codes(self, now: float) -> list[CodeRow]:
        left = 30 - int(now) % 30
        return [CodeRow("a1", "Example: alice", AccountKind.TOTP, "287082", left, 30)]

    def push_accounts(self) -> list[PushRow]:
        return [PushRow("p1", "Portvakt: alice", "https://mfa.example.org")]

    async def pending(self) -> Pending:
        return Pending(requests=tuple(self.waiting))

    async def approve(self, request: Request, number: str, *, pin: str | None = None) -> str:
        if self.pin_protected and pin != self.pin:
            raise KeystoreError("wrong_pin")
        self.approved.append((request.tx, number, pin))
        return "approved"

    async def deny(self, request: Request, *, reason: DenyReason) -> str:
        self.denied.append((request.tx, reason))
        return "denied"

    async def events(self) -> AsyncIterator[StreamEvent]:
        while True:
            yield await self.queue.get()


def _request(
    tx: str = "tx-1", *, mode: MatchMode = MatchMode.TYPE, choices: tuple[str, ...] = ()
) -> Request:
    view = ChallengeView(
        tx=tx,
        nonce="n",
        purpose="signin",
        expires_at=int(time.time()) + 60,
        match_mode=mode,
        digits=2,
        choices=choices,
        context={
            "service": "Webmail",
            "account": "alice",
            "ip": "192.0.2.7",
            "city": "Bergen",
            "country": "Norway",
            "browser": "Firefox",
            "os": "Linux",
            "time": "2026-11-22T12:00:00+00:00",
        },
    )
    return Request(account_id="p1", account_name="Portvakt: alice", view=view)


Scenario = Callable[[AuthenticatorApp, FakeBackend, Pilot[None]], Awaitable[None]]


def _run(scenario: Scenario, backend: FakeBackend | None = None) -> None:
    async def main() -> None:
        fake = backend or FakeBackend()
        app = AuthenticatorApp(fake)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            await scenario(app, fake, pilot)

    asyncio.run(main())


async def _arrive(
    app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None], r: Request
) -> None:
    await backend.queue.put(ChallengeArrived(r))
    for _ in range(20):
        await pilot.pause()
        if isinstance(app.screen, RequestScreen):
            return
    raise AssertionError("the request did not pop up")


def _texts(screen: RequestScreen) -> str:
    return "\n".join(str(s.content) for s in screen.query(Static))


def test_incoming_request_shows_context_and_approves_with_the_typed_number() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        await _arrive(app, backend, pilot, _request())
        screen = app.screen
        assert isinstance(screen, RequestScreen)
        shown = _texts(screen)
        for expected in ("Webmail", "192.0.2.7", "Bergen, Norway", "Firefox on Linux"):
            assert expected in shown
        await pilot.click("#number")
        await pilot.press("4", "2")
        await pilot.click("#approve")
        await pilot.pause()
        await pilot.pause()
        assert backend.approved == [("tx-1", "42", None)]
        assert not isinstance(app.screen, RequestScreen)

    _run(scenario)


def test_no_its_not_me_denies_with_reason_not_me() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        await _arrive(app, backend, pilot, _request())
        await pilot.click("#deny")
        await pilot.pause()
        await pilot.pause()
        assert backend.denied == [("tx-1", DenyReason.NOT_ME)]
        assert backend.approved == []

    _run(scenario)


def test_a_malformed_number_is_not_sent() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        await _arrive(app, backend, pilot, _request())
        await pilot.click("#number")
        await pilot.press("4")
        await pilot.click("#approve")
        await pilot.pause()
        assert backend.approved == []
        screen = app.screen
        assert isinstance(screen, RequestScreen)
        assert "form of the one shown" in str(screen.query_one("#error", Static).content)

    _run(scenario)


def test_pick_mode_shows_three_buttons() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        request = _request(mode=MatchMode.PICK, choices=("17", "42", "90"))
        await _arrive(app, backend, pilot, request)
        labels = [str(b.label) for b in app.screen.query(".pick").results(Button)]
        assert labels == ["17", "42", "90"]
        await pilot.click("#pick-1")
        await pilot.click("#approve")
        await pilot.pause()
        await pilot.pause()
        assert backend.approved == [("tx-1", "42", None)]

    _run(scenario)


def test_pin_is_asked_and_a_wrong_one_asks_again() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        await _arrive(app, backend, pilot, _request())
        await pilot.click("#number")
        await pilot.press("4", "2")
        app.screen.query_one("#pin", Input).value = "1111"
        await pilot.click("#approve")
        for _ in range(5):
            await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RequestScreen) and backend.approved == []
        assert "wrong PIN" in str(screen.query_one("#error", Static).content)
        screen.query_one("#number", Input).value = "42"
        screen.query_one("#pin", Input).value = "2468"
        await pilot.click("#approve")
        for _ in range(5):
            await pilot.pause()
        assert backend.approved == [("tx-1", "42", "2468")]

    _run(scenario, FakeBackend(pin_protected=True))


def test_request_answered_elsewhere_closes_its_dialog_and_the_next_one_shows() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        await _arrive(app, backend, pilot, _request("tx-1"))
        await backend.queue.put(ChallengeArrived(_request("tx-2")))
        await backend.queue.put(ChallengeClosed("p1", "tx-1", "approved"))
        for _ in range(10):
            await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RequestScreen) and screen.request.tx == "tx-2"
        await backend.queue.put(ChallengeClosed("p1", "tx-2", "superseded"))
        for _ in range(10):
            await pilot.pause()
        assert not isinstance(app.screen, RequestScreen)
        await backend.queue.put(ChallengeArrived(_request("tx-2")))  # a late duplicate
        for _ in range(5):
            await pilot.pause()
        assert not isinstance(app.screen, RequestScreen)
        assert backend.approved == [] and backend.denied == []

    _run(scenario)


def test_accounts_table_shows_codes_and_connection_state() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        table = app.query_one("#accounts", DataTable)
        assert table.get_row("a1")[1] == "287082"
        assert table.get_row("p1")[2] == "connecting…"
        await backend.queue.put(ConnectionChanged("p1", ConnectionState.CONNECTED))
        for _ in range(5):
            await pilot.pause()
        assert table.get_row("p1")[2] == "connected"
        await backend.queue.put(
            ConnectionChanged("p1", ConnectionState.DISCONNECTED, "unreachable")
        )
        for _ in range(5):
            await pilot.pause()
        assert table.get_row("p1")[2] == "offline: the server cannot be reached"

    _run(scenario)


def test_pending_requests_are_fetched_at_start() -> None:
    async def scenario(app: AuthenticatorApp, backend: FakeBackend, pilot: Pilot[None]) -> None:
        for _ in range(5):
            await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RequestScreen) and screen.request.tx == "tx-9"

    backend = FakeBackend()
    backend.waiting.append(_request("tx-9"))
    _run(scenario, backend)


def test_seconds_bar() -> None:
    assert seconds_bar(30, 30) == "██████████ 30s"
    assert seconds_bar(3, 30) == "█░░░░░░░░░  3s"
