"""Push commands: ``pending``, ``approve``, ``deny`` and ``listen`` (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import aclosing
from typing import Annotated, Any

import typer

from portvakt.protocol import DenyReason, MatchMode
from portvakt_authenticator.backend import push_accounts
from portvakt_authenticator.cli_support import (
    EXIT_FAILED,
    CliError,
    JsonOption,
    PinStdinOption,
    open_vault,
    print_json,
    store,
    warn,
)
from portvakt_authenticator.client import Answer, Pending, PushClient, Request, check_number
from portvakt_authenticator.display import clean, context_lines, describe, state_text
from portvakt_authenticator.i18n import _
from portvakt_authenticator.keystore import Vault
from portvakt_authenticator.stream import (
    ChallengeArrived,
    ChallengeClosed,
    ChallengeDropped,
    StreamEvent,
    watch_all,
)

RequestIdArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[REQUEST_ID]",
        help=_("The id of the request (or its start); not needed when only one is pending."),
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command(help=_("Fetch the pending sign-in requests of every push account."))(pending)
    app.command(help=_("Approve a sign-in request with the number shown on the sign-in page."))(
        approve
    )
    app.command(help=_("Deny a sign-in request."))(deny)
    app.command(help=_("Wait for sign-in requests and print them, for scripts (Ctrl-C stops)."))(
        listen
    )


def request_json(request: Request, now: float | None = None) -> dict[str, Any]:
    view = request.view
    match: dict[str, Any] = {"mode": view.match_mode.value, "digits": view.digits}
    if view.match_mode is MatchMode.PICK:
        match["choices"] = list(view.choices)
    return {
        "id": view.tx,
        "account_id": request.account_id,
        "account": request.account_name,
        "purpose": view.purpose,
        "match": match,
        "context": {k: clean(v) for k, v in view.context.items() if v is not None},
        "expires_at": view.expires_at,
        "seconds_left": max(0, int(view.expires_at - (time.time() if now is None else now))),
    }


def _describe_request(request: Request) -> list[str]:
    lines = [f"{request.tx}  {request.account_name}"]
    lines += [f"  {label}: {value}" for label, value in context_lines(request.view)]
    if request.view.match_mode is MatchMode.PICK:
        lines.append(
            "  " + _("Pick one of: %(choices)s") % {"choices": ", ".join(request.view.choices)}
        )
    return lines


def _report(found: Pending) -> None:
    for dropped in found.dropped:
        warn(
            _("a request for %(account)s failed verification and was ignored: %(reason)s")
            % {"account": dropped.account_name, "reason": describe(dropped.code)}
        )
    for failure in found.failures:
        warn(f"{failure.account_name}: {describe(failure.code, failure.message)}")


def _fetch(vault: Vault) -> Pending:
    accounts = push_accounts(vault.accounts)
    if not accounts:
        raise CliError("no_push_accounts")
    with PushClient() as client:
        found = client.pending(accounts)
    _report(found)
    return found


def pending(json_output: JsonOption = False, pin_stdin: PinStdinOption = False) -> None:
    found = _fetch(open_vault(store(), pin_stdin))
    if json_output:
        print_json(
            {
                "requests": [request_json(r) for r in found.requests],
                "dropped": [{"account_id": d.account_id, "code": d.code} for d in found.dropped],
                "failed": [{"account_id": f.account_id, "code": f.code} for f in found.failures],
            }
        )
    elif not found.requests:
        typer.echo(_("No pending sign-in requests."))
    else:
        for request in found.requests:
            typer.echo("\n".join(_describe_request(request)))
    if found.failures:
        raise typer.Exit(EXIT_FAILED)


def _choose(found: Pending, request_id: str | None) -> Request:
    requests = list(found.requests)
    if request_id is not None:
        wanted = request_id.strip()
        requests = [r for r in requests if r.tx == wanted] or [
            r for r in requests if wanted and r.tx.startswith(wanted)
        ]
        if not requests:
            raise CliError("no_such_request")
    if not requests:
        raise CliError("no_request")
    if len(requests) > 1:
        for request in requests:
            typer.echo("\n".join(_describe_request(request)), err=True)
        raise CliError("several_requests")
    return requests[0]


def approve(
    request_id: RequestIdArgument = None,
    number: Annotated[
        str | None,
        typer.Option(
            "--number", "-n", help=_("The number shown on the sign-in page (asked if left out).")
        ),
    ] = None,
    pin_stdin: PinStdinOption = False,
) -> None:
    vault = open_vault(store(), pin_stdin)
    request = _choose(_fetch(vault), request_id)
    typer.echo("\n".join(_describe_request(request)))
    if number is None:
        number = str(typer.prompt(_("Number shown on the sign-in page")))
    try:
        number = check_number(request.view, number)
    except ValueError as exc:
        raise CliError("bad_number") from exc
    account = next(a for a in push_accounts(vault.accounts) if a.id == request.account_id)
    with PushClient() as client:
        # uv only if this command opened the store with the PIN
        answer = Answer.approve(number, uv=vault.user_verified)
        state = client.answer(account, request.view, answer)
    typer.echo(_("Answer sent: %(state)s.") % {"state": state_text(state)})


def deny(
    request_id: RequestIdArgument = None,
    not_me: Annotated[
        bool,
        typer.Option(
            "--not-me",
            help=_("It was not you: the service pauses push sign-in and alerts an administrator."),
        ),
    ] = False,
    pin_stdin: PinStdinOption = False,
) -> None:
    vault = open_vault(store(), pin_stdin)
    request = _choose(_fetch(vault), request_id)
    typer.echo("\n".join(_describe_request(request)))
    account = next(a for a in push_accounts(vault.accounts) if a.id == request.account_id)
    reason = DenyReason.NOT_ME if not_me else DenyReason.CANCELLED
    with PushClient() as client:
        state = client.answer(account, request.view, Answer.deny(reason))
    typer.echo(_("Answer sent: %(state)s.") % {"state": state_text(state)})


def event_json(event: StreamEvent) -> dict[str, Any]:
    """One line of ``listen --json``."""
    if isinstance(event, ChallengeArrived):
        return {"event": "challenge"} | request_json(event.request)
    if isinstance(event, ChallengeClosed):
        return {
            "event": "answered",
            "account_id": event.account_id,
            "id": event.tx,
            "state": event.state,
        }
    if isinstance(event, ChallengeDropped):
        return {
            "event": "dropped",
            "account_id": event.dropped.account_id,
            "code": event.dropped.code,
        }
    return {
        "event": "connection",
        "account_id": event.account_id,
        "state": event.state.value,
        "code": event.code,
    }


def _print_event(event: StreamEvent, json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps(event_json(event), ensure_ascii=False))
    elif isinstance(event, ChallengeArrived):
        typer.echo("\n".join(_describe_request(event.request)))
    elif isinstance(event, ChallengeClosed):
        typer.echo(_("%(id)s: %(state)s") % {"id": event.tx, "state": state_text(event.state)})
    elif isinstance(event, ChallengeDropped):
        warn(describe(event.dropped.code))
    elif event.code:
        warn(f"{event.account_id}: {event.state.value} ({describe(event.code)})")


def listen(json_output: JsonOption = False, pin_stdin: PinStdinOption = False) -> None:
    accounts = push_accounts(open_vault(store(), pin_stdin).accounts)
    if not accounts:
        raise CliError("no_push_accounts")

    async def run() -> None:
        async with aclosing(watch_all(accounts)) as events:
            async for event in events:
                _print_event(event, json_output)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return
