"""The full-screen app (Textual): every account with its current code and a seconds-left bar,
refreshed each second; the connection state of each push account; and each incoming sign-in
request as a dialog with its context, the number to type (or three to pick from), and
**Yes, it's me** / **No, it's not me**. Requests are shown one at a time; one that is answered
elsewhere, expires or is replaced closes by itself. All data comes through a ``Backend``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static

from portvakt.protocol import Consent, DenyReason, MatchMode
from portvakt_authenticator.accounts import AccountKind
from portvakt_authenticator.backend import Backend, CodeRow
from portvakt_authenticator.client import ClientError, Request, check_number
from portvakt_authenticator.display import context_lines, describe, seconds_left, state_text
from portvakt_authenticator.i18n import _
from portvakt_authenticator.keystore import KeystoreError
from portvakt_authenticator.stream import (
    ChallengeArrived,
    ChallengeClosed,
    ChallengeDropped,
    ConnectionChanged,
    ConnectionState,
    StreamEvent,
)

BAR_WIDTH = 10


@dataclass(frozen=True, slots=True)
class Decision:
    consent: Consent
    number: str | None = None
    pin: str | None = None
    reason: DenyReason | None = None


def seconds_bar(left: int, period: int) -> str:
    filled = round(BAR_WIDTH * left / period) if period else 0
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {left:>2}s"


class RequestScreen(ModalScreen[Decision | None]):
    """One sign-in request. Escape closes it unanswered (it stays pending until it expires)."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "later", _("Later"))]

    def __init__(self, request: Request, *, ask_pin: bool, error: str = "") -> None:
        super().__init__()
        self.request = request
        self.ask_pin = ask_pin
        self.error = error
        self.picked: str | None = None

    def compose(self) -> ComposeResult:
        view = self.request.view
        with Vertical(id="dialog"):
            yield Label(_("Are you trying to sign in?"), id="title")
            yield Static(self.request.account_name, markup=False, classes="account")
            for label, value in context_lines(view):
                yield Static(f"{label}: {value}", markup=False, classes="context")
            if view.match_mode is MatchMode.PICK:
                yield Label(_("Pick the number shown on the sign-in page:"))
                with Horizontal(id="choices"):
                    for index, choice in enumerate(view.choices):
                        yield Button(choice, id=f"pick-{index}", classes="pick")
            else:
                yield Label(_("Type the number shown on the sign-in page:"))
                yield Input(
                    id="number", restrict=r"[0-9]*", max_length=view.digits, placeholder="00"
                )
            if self.ask_pin:
                yield Input(id="pin", password=True, placeholder=_("PIN"))
            yield Static(self.error, id="error", markup=False)
            yield Static("", id="countdown")
            with Horizontal(id="answers"):
                yield Button(_("Yes, it's me"), id="approve", variant="success")
                yield Button(_("No, it's not me"), id="deny", variant="error")

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        left = seconds_left(self.request.view)
        if left <= 0:
            self.dismiss(None)
            self.app.notify(describe("expired"))
            return
        text = _("%(seconds)s seconds left") % {"seconds": left}
        self.query_one("#countdown", Static).update(text)

    def action_later(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, ".pick")
    def pick(self, event: Button.Pressed) -> None:
        for button in self.query(".pick").results(Button):
            button.variant = "primary" if button is event.button else "default"
        self.picked = str(event.button.label)

    @on(Button.Pressed, "#approve")
    @on(Input.Submitted)
    def approve(self) -> None:
        if self.picked is not None:
            number = self.picked
        elif self.request.view.match_mode is MatchMode.PICK:
            number = ""
        else:
            number = self.query_one("#number", Input).value
        try:
            number = check_number(self.request.view, number)
        except ValueError:
            self.query_one("#error", Static).update(describe("bad_number"))
            return
        pin = self.query_one("#pin", Input).value if self.ask_pin else None
        if self.ask_pin and not pin:
            self.query_one("#error", Static).update(describe("pin_required"))
            return
        self.dismiss(Decision(Consent.APPROVE, number=number, pin=pin))

    @on(Button.Pressed, "#deny")
    def deny(self) -> None:
        self.dismiss(Decision(Consent.DENY, reason=DenyReason.NOT_ME))


class AuthenticatorApp(App[None]):
    TITLE = "Portvakt Authenticator"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    RequestScreen { align: center middle; }
    #dialog { width: 70; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    #title { text-style: bold; margin-bottom: 1; }
    .account { text-style: bold; }
    #choices, #answers { height: auto; margin-top: 1; }
    #choices Button, #answers Button { margin-right: 2; }
    #error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        ("r", "refresh", _("Refresh")),
        ("q", "quit", _("Quit")),
    ]

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.connections: dict[str, tuple[ConnectionState, str]] = {}
        self.current: RequestScreen | None = None
        self.waiting: list[Request] = []
        self.finished: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="accounts", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#accounts", DataTable)
        table.add_column(_("Account"), key="name")
        table.add_column(_("Code"), key="code")
        table.add_column(_("Valid / state"), key="state")
        self.refresh_accounts()
        self.set_interval(1.0, self.refresh_accounts)
        self.run_worker(self.follow_events(), name="events", exit_on_error=False)
        self.run_worker(self.action_refresh(), name="pending", exit_on_error=False)

    # -- the accounts table ------------------------------------------------------------------

    def refresh_accounts(self) -> None:
        """Update the cells in place (the cursor stays), or rebuild if the accounts changed."""
        rows: list[tuple[str, str, str, str]] = [
            (row.account_id, row.name, *self._code_cells(row))
            for row in self.backend.codes(time.time())
        ]
        for push in self.backend.push_accounts():
            known = self.connections.get(push.account_id, (ConnectionState.CONNECTING, ""))
            rows.append((push.account_id, push.name, _("push"), self._state_text(*known)))
        table = self.query_one("#accounts", DataTable)
        keys = [key for key, *_cells in rows]
        if keys != [row_key.value for row_key in table.rows]:
            table.clear()
            for key, *cells in rows:
                table.add_row(*cells, key=key)
            return
        for key, name, code, valid in rows:
            table.update_cell(key, "name", name)
            table.update_cell(key, "code", code)
            table.update_cell(key, "state", valid)

    @staticmethod
    def _code_cells(row: CodeRow) -> tuple[str, str]:
        if row.kind is AccountKind.TOTP and row.code is not None:
            return row.code, seconds_bar(row.seconds_left or 0, row.period or 30)
        return "HOTP", _("counter %(counter)s") % {"counter": row.counter}

    @staticmethod
    def _state_text(state: ConnectionState, code: str) -> str:
        if state is ConnectionState.CONNECTED:
            return _("connected")
        if state is ConnectionState.CONNECTING:
            return _("connecting…")
        return _("offline: %(reason)s") % {"reason": describe(code)} if code else _("offline")

    # -- requests ----------------------------------------------------------------------------

    async def follow_events(self) -> None:
        async for event in self.backend.events():
            self.handle_event(event)

    def handle_event(self, event: StreamEvent) -> None:
        if isinstance(event, ChallengeArrived):
            self.offer(event.request)
        elif isinstance(event, ChallengeClosed):
            self.close_request(event.tx, event.state)
        elif isinstance(event, ChallengeDropped):
            self.notify(
                describe(event.dropped.code), title=_("Request ignored"), severity="warning"
            )
        elif isinstance(event, ConnectionChanged):
            self.connections[event.account_id] = (event.state, event.code)
            self.refresh_accounts()

    async def action_refresh(self) -> None:
        found = await self.backend.pending()
        for failure in found.failures:
            self.notify(describe(failure.code), title=failure.account_name, severity="error")
        for dropped in found.dropped:
            self.notify(describe(dropped.code), title=_("Request ignored"), severity="warning")
        for request in found.requests:
            self.offer(request)

    def offer(self, request: Request, *, error: str = "") -> None:
        """Show a request now, or after the one on screen."""
        if request.tx in self.finished or any(r.tx == request.tx for r in self.waiting):
            return
        if self.current is not None:
            if self.current.request.tx != request.tx:
                self.waiting.append(request)
            return
        screen = RequestScreen(request, ask_pin=self.backend.pin_protected, error=error)
        self.current = screen
        self.push_screen(screen, callback=lambda decision: self.decided(request, decision))

    def decided(self, request: Request, decision: Decision | None) -> None:
        self.current = None
        if decision is not None:
            self.finished.add(request.tx)
            self.run_worker(self.send(request, decision), exit_on_error=False)
        self.show_next()

    def show_next(self) -> None:
        while self.waiting and self.current is None:
            candidate = self.waiting.pop(0)
            if seconds_left(candidate.view) > 0:
                self.offer(candidate)

    def close_request(self, tx: str, state: str) -> None:
        self.finished.add(tx)
        self.waiting = [r for r in self.waiting if r.tx != tx]
        if self.current is not None and self.current.request.tx == tx:
            self.current.dismiss(None)
            self.notify(_("The request is over: %(state)s") % {"state": state_text(state)})

    async def send(self, request: Request, decision: Decision) -> None:
        try:
            if decision.consent is Consent.APPROVE and decision.number is not None:
                state = await self.backend.approve(request, decision.number, pin=decision.pin)
            else:
                reason = decision.reason or DenyReason.CANCELLED
                state = await self.backend.deny(request, reason=reason)
        except KeystoreError as exc:  # a wrong PIN: ask again
            self.finished.discard(request.tx)
            self.offer(request, error=describe(exc.code))
            return
        except ClientError as exc:
            self.notify(describe(exc.code, exc.message), severity="error")
            return
        self.notify(_("Answer sent: %(state)s.") % {"state": state_text(state)})
