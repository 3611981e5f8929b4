"""The event stream (docs/protocol.md, ``GET /api/app/v1/events``): a server-sent event parser,
and an async reader per push account that verifies each challenge with the pinned key,
reports ``answered`` events and the connection state, and reconnects with backoff."""

from __future__ import annotations

import asyncio
import enum
import json
import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

import httpx

from portvakt import protocol
from portvakt_authenticator.accounts import PushAccount
from portvakt_authenticator.client import ClientError, error_of, url_of
from portvakt_authenticator.messages import APP_NAME, Dropped, Request, auth_token, open_challenge

READ_TIMEOUT = 45.0  # the server sends a keep-alive comment every 15 s


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class ChallengeArrived:
    request: Request


@dataclass(frozen=True, slots=True)
class ChallengeClosed:
    """Another device answered, or the challenge expired or was superseded."""

    account_id: str
    tx: str
    state: str


@dataclass(frozen=True, slots=True)
class ChallengeDropped:
    dropped: Dropped


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    account_id: str
    state: ConnectionState
    code: str = ""  # why it was lost


StreamEvent = ChallengeArrived | ChallengeClosed | ChallengeDropped | ConnectionChanged


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


class SseParser:
    """Server-sent events, line by line (WHATWG HTML §9.2.6): ``event:`` and ``data:`` fields,
    ``:`` comments, and a blank line that dispatches the event."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SseEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


class Backoff:
    """1 s, 2 s, 4 s … up to a minute, each with up to 25 % jitter; reset after a connect."""

    def __init__(self, initial: float = 1.0, maximum: float = 60.0) -> None:
        self.initial, self.maximum = initial, maximum
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay * (1 + secrets.SystemRandom().uniform(0, 0.25))

    def reset(self) -> None:
        self._next = self.initial


def interpret(account: PushAccount, event: SseEvent) -> StreamEvent | None:
    """One server-sent event as what the app acts on; unknown events are ignored."""
    if event.event == "challenge":
        try:
            return ChallengeArrived(open_challenge(account, event.data.strip()))
        except protocol.ProtocolError as exc:
            return ChallengeDropped(Dropped(account.id, account.name, exc.code))
    if event.event == "answered":
        try:
            data = json.loads(event.data)
        except ValueError:
            return None
        if isinstance(data, dict) and isinstance(data.get("tx"), str):
            return ChallengeClosed(account.id, data["tx"], str(data.get("state", "")))
    return None


async def _authorization(http: httpx.AsyncClient, account: PushAccount) -> str:
    response = await http.get(url_of(account.server, "nonce"))
    if not response.is_success:
        raise error_of(response)
    try:
        nonce = response.json().get("nonce")
    except (ValueError, AttributeError) as exc:
        raise ClientError("bad_response") from exc
    if not isinstance(nonce, str) or not nonce:
        raise ClientError("bad_response")
    return f"{protocol.AUTH_SCHEME} {auth_token(account, nonce)}"


async def _connect_once(
    http: httpx.AsyncClient, account: PushAccount, backoff: Backoff
) -> AsyncGenerator[StreamEvent, None]:
    headers = {"Authorization": await _authorization(http, account)}
    headers["Accept"] = "text/event-stream"
    async with http.stream("GET", url_of(account.server, "events"), headers=headers) as response:
        if not response.is_success:
            await response.aread()
            raise error_of(response)
        yield ConnectionChanged(account.id, ConnectionState.CONNECTED)
        backoff.reset()
        parser = SseParser()
        async for line in response.aiter_lines():
            sse = parser.feed(line)
            found = interpret(account, sse) if sse is not None else None
            if found is not None:
                yield found


async def watch(
    account: PushAccount,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    backoff: Backoff | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """Keep the event stream of one account open for as long as the caller iterates."""
    backoff = backoff or Backoff()
    timeout = httpx.Timeout(10.0, read=READ_TIMEOUT)
    headers = {"User-Agent": APP_NAME}
    async with httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers) as http:
        while True:
            yield ConnectionChanged(account.id, ConnectionState.CONNECTING)
            code = "closed"
            try:
                async with aclosing(_connect_once(http, account, backoff)) as events:
                    async for event in events:
                        yield event
            except ClientError as exc:
                code = exc.code
            except httpx.HTTPError:
                code = "unreachable"
            yield ConnectionChanged(account.id, ConnectionState.DISCONNECTED, code)
            await sleep(backoff.next())


async def watch_all(
    accounts: Sequence[PushAccount],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """The streams of every push account, merged."""
    queue: asyncio.Queue[StreamEvent] = asyncio.Queue()

    async def pump(account: PushAccount) -> None:
        async with aclosing(watch(account, transport=transport)) as events:
            async for event in events:
                await queue.put(event)

    tasks = [asyncio.create_task(pump(account)) for account in accounts]
    try:
        while tasks:
            yield await queue.get()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
