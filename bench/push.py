"""Push approval on the real server: approval-to-browser latency, and waiters held by one process.

    .venv/bin/python bench/push.py                        # both parts, SQLite, default sizes
    .venv/bin/python bench/push.py --json push.json       # also write the results as JSON
    .venv/bin/python bench/push.py --only latency \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --instances 2

What happens, in order:

1. A temporary data folder gets generated users with one shared, precomputed argon2id hash
   (``portvakt.crypto.hashing.hash_password``) and no second factor, imported with
   ``portvakt user import``. With ``--database-url`` (PostgreSQL) a fresh schema is created in
   that database for the run and dropped at the end.
2. ``portvakt serve`` starts as a subprocess on a free loopback port (one uvicorn process;
   with ``--instances 2`` a second one on the same database, secret key and public URL, as
   behind a load balancer), and is stopped at the end, also on an error or Ctrl-C.
3. Every user gets a push device through the real pages and the real app API: sign in, skip
   activation (the grace period is open: ``PORTVAKT_ENROLLMENT_DEADLINE``), *Add method →
   push*, register a fresh P-256 device key with the activation code from the page
   (``portvakt.protocol``, like the authenticator app), approve the test challenge with the
   number the page shows. This preparation is untimed and runs in parallel.
4. Part 1, approval-to-browser latency: sequential sign-ins (``--signins``, default 200). For
   each: password step, ``POST /signin/push``, the number from the waiting page, the browser's
   event stream ``GET /signin/push/events?tx=…`` (until it says ``pending``), the challenge as
   the app receives it on its own event stream ``GET /api/app/v1/events``, then the approval
   ``POST /api/app/v1/answers``. Timed: from the moment that POST returns until the browser's
   stream delivers ``{"state": "approved"}``. The sign-in is then completed
   (``POST /signin/push/complete``, untimed). With ``--instances 2`` the browser uses instance
   A only and the app (registration, its event stream, the answer) instance B only.
5. Part 2, waiters held by one process: W browsers each waiting on its own pending push
   sign-in (an open ``/signin/push/events`` stream) plus A apps each holding its own
   authenticated ``/api/app/v1/events`` stream, all open at once on one server process
   (``--waiters``, ``--apps``: 1,000 each by default; 5,000 each takes about 14 minutes on a
   2-core machine, most of it adding the devices). The password steps are done first (a
   sign-in lives up to an hour); the app streams are opened next (they do not expire); the
   push requests are started and the browser streams opened last, because a challenge lives
   at most 120 s and its stream ends when it expires. No push request is started so late that
   the earliest one would expire before the measurement ends, so on a slow machine fewer than
   W browsers may be waiting: the results say how many were. Recorded: the server's RSS,
   threads and open file descriptors before, with all streams open, and after they close;
   its CPU use while they are only held (keep-alives); and the latency of a sample of
   approvals while all the others keep waiting.

The server settings the benchmark changes are in ``SERVER_ENV`` (printed, and written to the
JSON results). The benchmark client runs on the same machine; its CPU use is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import html
import json
import math
import os
import random
import re
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
from _common import (
    PASSWORD,
    CpuMeter,
    Server,
    add_output_options,
    free_port,
    import_users,
    machine,
    make_users,
    new_client,
    raise_nofile_limit,
    run_async,
    run_in_workdir,
    stats,
    warn_if_busy,
)
from joserfc.jwk import ECKey

from portvakt import protocol

# Settings the benchmark changes, and why (printed and written to the JSON results).
SERVER_ENV = {
    # The default (50 password attempts per IP per 15 minutes) would stop the benchmark after
    # 50 sign-ins from 127.0.0.1; part 2 needs two password sign-ins per user.
    "PORTVAKT_PASSWORD_ATTEMPTS_PER_IP": "100000000",
    # Part 2 signs every user in (password step) before the push requests start; those
    # sign-ins must outlive the rest of the preparation (default 600 s, maximum 3600 s).
    "PORTVAKT_SIGNIN_TTL_SECONDS": "3600",
    # The grace period lets a new user skip activation at the first sign-in and then add the
    # push device on Security info, as people do in the real flow.
    "PORTVAKT_ENROLLMENT_DEADLINE": "2099-01-01",
    # A challenge (and so a waiting browser's stream) lives this long; the maximum, 120 s,
    # leaves the most time to open every stream of part 2 and measure (default 60 s).
    "PORTVAKT_METHODS__PUSH__CHALLENGE_SECONDS": "120",
    # Requests per person and window that did not end in a sign-in (default 3, maximum 20):
    # head-room for retries; in the runs every user's requests end in an approval.
    "PORTVAKT_METHODS__PUSH__MAX_UNANSWERED": "20",
}
STREAMS_PER_CLIENT = 250  # httpx scans its whole pool per request: keep each pool small
TAIL = 10.0  # seconds kept in hand in part 2 for the sample approvals before the first expiry
IN_FLIGHT = 5.0  # part 2: seconds the push requests under way may take after the cut-off


# -- database --------------------------------------------------------------------------------


class Database:
    """SQLite in the data folder (default), or a fresh schema in a PostgreSQL database."""

    def __init__(self, url: str | None) -> None:
        self.base_url = url
        self.schema = ""
        if url is None:
            self.url: str | None = None
            self.kind = "sqlite"
            return
        if not url.startswith(("postgresql", "postgres")):
            raise SystemExit("--database-url must be a PostgreSQL URL (postgresql+psycopg://…)")
        self.kind = "postgresql"
        self.schema = f"bench_push_{secrets.token_hex(6)}"
        joiner = "&" if "?" in url else "?"
        self.url = f"{url}{joiner}options=-csearch_path%3D{self.schema}"

    def _execute(self, statement: str) -> None:
        import psycopg

        from portvakt.channels.notify.postgres import conninfo_from_url

        assert self.base_url is not None
        with psycopg.connect(conninfo_from_url(self.base_url), autocommit=True) as conn:
            conn.execute(statement)

    def create(self) -> None:
        if self.schema:
            self._execute(f'CREATE SCHEMA "{self.schema}"')

    def drop(self) -> None:
        if self.schema:
            self._execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def version(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        import psycopg

        from portvakt.channels.notify.postgres import conninfo_from_url

        assert self.base_url is not None
        with psycopg.connect(conninfo_from_url(self.base_url)) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"


# -- HTTP: browsers and apps -----------------------------------------------------------------

CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NUMBER = re.compile(r'id="number"[^>]*>(\d+)<')
ACTIVATION_URI = re.compile(r'id="activation-uri">([^<]+)<')


class Failed(Exception):
    """A step of the flow did not answer as a browser or app expects."""


class StreamClients:
    """Clients for long-lived streams, ``STREAMS_PER_CLIENT`` connections each."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.clients: list[Any] = []
        self.used = 0

    def next(self) -> Any:
        if self.used % STREAMS_PER_CLIENT == 0:
            self.clients.append(new_client(self.base_url, STREAMS_PER_CLIENT, read_timeout=None))
        self.used += 1
        return self.clients[-1]

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.clients.clear()


class Browser:
    """One browser: its own cookies and CSRF token."""

    __slots__ = ("csrf", "jar")

    def __init__(self) -> None:
        self.jar: dict[str, str] = {}
        self.csrf = ""

    def headers(self) -> dict[str, str]:
        if not self.jar:
            return {}
        return {"cookie": "; ".join(f"{name}={value}" for name, value in self.jar.items())}

    def absorb(self, response: Any) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if "max-age=0" in header.lower():
                self.jar.pop(name.strip(), None)
            else:
                self.jar[name.strip()] = rest.split(";", 1)[0]

    async def get(self, client: Any, path: str) -> Any:
        answer = await client.get(path, headers=self.headers())
        self.absorb(answer)
        return answer

    async def post(self, client: Any, path: str, form: dict[str, str] | None = None) -> Any:
        data = {**(form or {}), "csrf_token": self.csrf}
        answer = await client.post(path, data=data, headers=self.headers())
        self.absorb(answer)
        return answer


def expect_redirect(answer: Any, step: str, target: str) -> str:
    location = str(answer.headers.get("location", ""))
    if answer.status_code != 303 or not location.startswith(target):
        raise Failed(f"{step}: {answer.status_code} → {location or '-'}")
    return location


async def password_step(client: Any, username: str, expected: str) -> Browser:
    """A fresh browser: ``GET /signin``, then ``POST /signin`` (one argon2 check on the server)."""
    browser = Browser()
    page = await browser.get(client, "/signin")
    token = CSRF_TOKEN.search(page.text)
    if page.status_code != 200 or token is None or "pv_csrf" not in browser.jar:
        raise Failed(f"GET /signin: {page.status_code}")
    browser.csrf = token.group(1)
    answer = await browser.post(client, "/signin", {"username": username, "password": PASSWORD})
    expect_redirect(answer, "POST /signin", expected)
    return browser


async def start_push(client: Any, browser: Browser) -> str:
    """``POST /signin/push`` → the challenge id from the waiting page's address."""
    answer = await browser.post(client, "/signin/push")
    location = expect_redirect(answer, "POST /signin/push", "/signin/push/wait?")
    return parse_qs(urlsplit(location).query)["tx"][0]


async def shown_number(client: Any, browser: Browser, tx: str) -> str:
    page = await browser.get(client, f"/signin/push/wait?tx={tx}")
    found = NUMBER.search(page.text)
    if page.status_code != 200 or found is None:
        raise Failed(f"GET /signin/push/wait: {page.status_code} without a number")
    return found.group(1)


async def complete(client: Any, browser: Browser, tx: str) -> None:
    answer = await browser.post(client, f"/signin/push/complete?tx={tx}")
    expect_redirect(answer, "POST /signin/push/complete", "/account")


class App:
    """A minimal authenticator app (docs/protocol.md): its own P-256 key, pinned server key."""

    __slots__ = ("device_id", "key", "server", "server_key")

    def __init__(self) -> None:
        self.key: ECKey = protocol.generate_key()
        self.device_id = ""
        self.server = ""
        self.server_key: ECKey | None = None

    async def register(self, client: Any, uri: str) -> None:
        activation = protocol.Activation.parse(uri)
        self.server = activation.server
        token = protocol.sign(
            self.key,
            protocol.MessageType.REGISTER,
            {
                "iss": protocol.fingerprint(self.key),
                "aud": activation.server,
                "code": activation.code,
                "jwk": protocol.public_jwk(self.key),
                "device": {"name": "Bench phone", "platform": "bench", "app": "bench/1"},
                "capabilities": ["number_type", "events"],
            },
            lifetime=60,
        )
        answer = await client.post(protocol.APP_PATHS["register"], json={"token": token})
        if answer.status_code != 201:
            raise Failed(f"POST register: {answer.status_code} {answer.text[:200]}")
        body = answer.json()
        self.device_id = body["device_id"]
        self.server_key = protocol.import_public(body["server_key"])
        if protocol.fingerprint(self.server_key) != activation.fingerprint:
            raise Failed("register: the server key does not match the pinned fingerprint")

    async def auth_header(self, client: Any) -> dict[str, str]:
        answer = await client.get(protocol.APP_PATHS["nonce"])
        if answer.status_code != 200:
            raise Failed(f"GET nonce: {answer.status_code}")
        token = protocol.sign(
            self.key,
            protocol.MessageType.AUTH,
            {"iss": self.device_id, "aud": self.server, "nonce": answer.json()["nonce"]},
            lifetime=60,
        )
        return {"authorization": f"{protocol.AUTH_SCHEME} {token}"}

    def challenge(self, token: str) -> dict[str, Any]:
        """Check a ``pv-challenge`` with the pinned server key, as the app does."""
        assert self.server_key is not None
        return protocol.verify(
            token,
            self.server_key,
            protocol.MessageType.CHALLENGE,
            audience=self.device_id,
            issuer=self.server,
        )

    async def challenges(self, client: Any) -> list[dict[str, Any]]:
        answer = await client.get(
            protocol.APP_PATHS["challenges"], headers=await self.auth_header(client)
        )
        if answer.status_code != 200:
            raise Failed(f"GET challenges: {answer.status_code}")
        return [self.challenge(t) for t in answer.json()["challenges"]]

    def approval(self, challenge: dict[str, Any], number: str) -> dict[str, str]:
        token = protocol.sign(
            self.key,
            protocol.MessageType.ANSWER,
            {
                "iss": self.device_id,
                "aud": self.server,
                "tx": challenge["tx"],
                "nonce": challenge["nonce"],
                "consent": "approve",
                "number": number,
                "uv": False,
            },
            lifetime=60,
        )
        return {"token": token}


async def enrol(web: Any, api: Any, username: str) -> App:
    """Sign in, skip activation, add a push device, register it and pass its test approval."""
    browser = await password_step(web, username, "/signin/activate")
    expect_redirect(await browser.post(web, "/signin/activate/skip"), "skip", "/account")
    added = await browser.post(web, "/account/methods/add", {"kind": "push"})
    page_path = expect_redirect(added, "POST /account/methods/add", "/account/methods/")
    page = await browser.get(web, page_path)
    uri = ACTIVATION_URI.search(page.text)
    if page.status_code != 200 or uri is None:
        raise Failed(f"GET {page_path}: {page.status_code} without an activation URI")
    app = App()
    await app.register(api, html.unescape(uri.group(1)))
    page = await browser.get(web, page_path)
    number = NUMBER.search(page.text)
    if number is None:
        raise Failed(f"GET {page_path}: no test number after registration")
    (test,) = await app.challenges(api)
    if test.get("purpose") != "activation":
        raise Failed(f"test challenge has purpose {test.get('purpose')!r}")
    answer = await api.post(protocol.APP_PATHS["answers"], json=app.approval(test, number.group(1)))
    if answer.status_code != 200 or answer.json() != {"state": "approved"}:
        raise Failed(f"test approval: {answer.status_code} {answer.text[:200]}")
    return app


# -- event streams ---------------------------------------------------------------------------


async def sse(
    client: Any, path: str, headers: dict[str, str], opened: Callable[[int], None]
) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs of a ``text/event-stream``; ``opened(status)`` once the headers are
    in (for any status: a refusal ends the stream)."""
    async with client.stream("GET", path, headers=headers) as response:
        opened(response.status_code)
        if response.status_code != 200:
            return
        name = "message"
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                yield name, line[6:]
                name = "message"


@dataclass(eq=False)
class Watch:
    """A browser waiting on ``/signin/push/events?tx=…``."""

    tx: str
    browser: Browser
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    status: int = 0
    pending: bool = False
    final: str = ""
    final_at: float = 0.0
    error: str = ""
    task: asyncio.Task[None] | None = None

    def start(self, client: Any) -> None:
        self.task = asyncio.create_task(self._run(client))

    def _opened(self, status: int) -> None:
        self.status = status

    async def _run(self, client: Any) -> None:
        try:
            path = f"/signin/push/events?tx={self.tx}"
            async for _name, data in sse(client, path, self.browser.headers(), self._opened):
                state = json.loads(data).get("state", "")
                if state == "pending":
                    self.pending = True
                    self.opened.set()
                    continue
                self.final, self.final_at = state, time.perf_counter()
                return
            if not self.final:
                self.error = f"stream ended ({self.status})"
        except (httpx.HTTPError, ValueError) as exc:
            self.error = type(exc).__name__
        finally:
            self.pending = False
            self.opened.set()
            self.done.set()

    @property
    def waiting(self) -> bool:
        return self.pending and not self.done.is_set()


@dataclass(eq=False)
class AppLink:
    """An app holding ``/api/app/v1/events``: the challenges it received, by ``tx``."""

    app: App
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    status: int = 0
    error: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    answered: int = 0
    arrivals: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    def start(self, api: Any, streams: Any) -> None:
        self.task = asyncio.create_task(self._run(api, streams))

    def _opened(self, status: int) -> None:
        self.status = status
        self.opened.set()

    async def _run(self, api: Any, streams: Any) -> None:
        try:
            headers = await self.app.auth_header(api)
            path = protocol.APP_PATHS["events"]
            async for name, data in sse(streams, path, headers, self._opened):
                if name == "challenge":
                    tx = str(protocol.peek(data).get("tx", ""))  # checked when it is used
                    self.tokens[tx] = data
                    waiter = self.arrivals.pop(tx, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(data)
                elif name == "answered":
                    self.answered += 1
            self.error = self.error or f"stream ended ({self.status})"
        except (httpx.HTTPError, ValueError, Failed, protocol.ProtocolError) as exc:
            self.error = type(exc).__name__
        finally:
            self.opened.set()

    async def challenge_for(self, tx: str, timeout: float = 30) -> dict[str, Any]:
        token = self.tokens.get(tx)
        if token is None:
            arrival = self.arrivals.setdefault(tx, asyncio.get_running_loop().create_future())
            token = await asyncio.wait_for(arrival, timeout)
        return self.app.challenge(token)


async def stop_tasks(tasks: Iterable[asyncio.Task[None] | None]) -> None:
    live = [t for t in tasks if t is not None and not t.done()]
    for task in live:
        task.cancel()
    if live:
        await asyncio.wait(live, timeout=60)


# -- measurement helpers ---------------------------------------------------------------------


async def in_parallel(
    items: list[Any],
    concurrency: int,
    work: Callable[[Any], Awaitable[None]],
    label: str,
    *,
    until: float = math.inf,
) -> tuple[float, Counter[str]]:
    """Run ``work(item)`` for every item with ``concurrency`` workers; prints progress. No new
    item is started after ``until`` (a ``time.perf_counter()`` value)."""
    failures: Counter[str] = Counter()
    queue = iter(items)
    done = 0
    started = time.perf_counter()
    step = max(1, len(items) // 10)

    async def worker() -> None:
        nonlocal done
        for item in queue:
            if time.perf_counter() >= until:
                return
            try:
                await work(item)
            except (httpx.HTTPError, Failed, protocol.ProtocolError, TimeoutError) as exc:
                failures[f"{type(exc).__name__}: {exc}"[:120]] += 1
            done += 1
            if done % step == 0:
                rate = done / (time.perf_counter() - started)
                print(f"    {label}: {done:,}/{len(items):,} ({rate:.0f}/s)", flush=True)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(items))))))
    return time.perf_counter() - started, failures


def failure_note(failures: Counter[str]) -> str:
    return "; ".join(f"{n}× {kind}" for kind, n in failures.most_common(5))


# -- the benchmark ---------------------------------------------------------------------------


@dataclass
class Person:
    username: str
    app: App | None = None
    browser: Browser | None = None


class Bench:
    def __init__(self, args: argparse.Namespace, servers: list[Server], names: list[str]) -> None:
        self.args = args
        self.servers = servers
        self.web_server = servers[0]  # the browsers' instance (A)
        self.api_server = servers[-1]  # the apps' instance (B with --instances 2)
        self.names = names
        self.next_name = 0

    def take(self, count: int) -> list[Person]:
        people = [Person(n) for n in self.names[self.next_name : self.next_name + count]]
        self.next_name += count
        if len(people) < count:
            raise SystemExit("not enough generated users")
        return people

    async def enrol_all(self, people: list[Person], web_url: str, api_url: str) -> dict[str, Any]:
        """Give every person an active push device (untimed, parallel)."""
        concurrency = self.args.prep_concurrency
        async with new_client(web_url, concurrency) as web, new_client(api_url, concurrency) as api:

            async def one(person: Person) -> None:
                person.app = await enrol(web, api, person.username)

            meter = CpuMeter(self.servers)
            seconds, failures = await in_parallel(people, concurrency, one, "devices")
        ok = sum(p.app is not None for p in people)
        print(
            f"  {ok:,} devices added in {seconds:.0f} s ({ok / seconds:.1f}/s)"
            + (f"; failures: {failure_note(failures)}" if failures else ""),
            flush=True,
        )
        return {
            "devices": ok,
            "seconds": round(seconds, 1),
            "per_second": round(ok / seconds, 1),
            "failures": dict(failures),
            "cpu": meter.read(),
        }

    # -- part 1 ------------------------------------------------------------------------------

    async def latency(self) -> dict[str, Any]:
        args = self.args
        web_url, api_url = self.web_server.url, self.api_server.url
        concurrency = args.latency_concurrency
        where = (
            "browser on A, app on B (two processes, one database)"
            if len(self.servers) == 2
            else "one process"
        )
        print(f"\nPart 1: approval-to-browser latency ({where})", flush=True)
        people = self.take(concurrency)
        prep = await self.enrol_all(people, web_url, api_url)
        streams = StreamClients(api_url)
        links = []
        async with (
            new_client(web_url, 2 * concurrency + 2) as web,
            new_client(api_url, 2 * concurrency + 2) as api,
            new_client(web_url, 2 * concurrency + 2, read_timeout=None) as watch_client,
        ):
            for person in people:
                assert person.app is not None
                link = AppLink(person.app)
                link.start(api, streams.next())
                links.append(link)
            await asyncio.wait_for(asyncio.gather(*(link.opened.wait() for link in links)), 60)
            refused = [link.status for link in links if link.status != 200]
            if refused:
                raise SystemExit(f"app event streams refused: {refused}")

            sent_ms: list[float] = []
            returned_ms: list[float] = []
            post_ms: list[float] = []
            errors: Counter[str] = Counter()
            total = args.warmup + args.signins
            remaining = iter(range(total))
            meter: CpuMeter | None = None
            lock = asyncio.Lock()

            async def worker(person: Person, link: AppLink) -> None:
                nonlocal meter
                for index in remaining:
                    if index == args.warmup:
                        async with lock:
                            meter = meter or CpuMeter(self.servers)
                    try:
                        sample = await self.one_approval(web, api, watch_client, person, link)
                    except (httpx.HTTPError, Failed, protocol.ProtocolError, TimeoutError) as exc:
                        if index >= args.warmup:
                            errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                        continue
                    if index >= args.warmup:
                        sent_ms.append(sample[0])
                        returned_ms.append(sample[1])
                        post_ms.append(sample[2])
                    done = index + 1 - args.warmup
                    if done > 0 and done % max(1, args.signins // 4) == 0:
                        print(f"    sign-ins: {done}/{args.signins}", flush=True)

            await asyncio.gather(*(worker(p, link) for p, link in zip(people, links, strict=True)))
            cpu = meter.read() if meter else {}
            await stop_tasks(link.task for link in links)
        await streams.close()
        result = {
            "where": where,
            "signins": args.signins,
            "warmup": args.warmup,
            "concurrency": concurrency,
            "answer_returned_to_browser": stats(returned_ms),
            "answer_sent_to_browser": stats(sent_ms),
            "answer_post_round_trip": stats(post_ms),
            "browser_before_answer_returned": sum(v < 0 for v in returned_ms),
            "errors": dict(errors),
            "cpu": cpu,
            "preparation": prep,
        }
        show_latency(result)
        return result

    async def one_approval(
        self, web: Any, api: Any, watch_client: Any, person: Person, link: AppLink
    ) -> tuple[float, float, float]:
        """One push sign-in; returns ms from answer sent and from answer returned until the
        browser heard ``approved``, and the answer's round trip."""
        browser = await password_step(web, person.username, "/signin/factor")
        tx = await start_push(web, browser)
        number = await shown_number(web, browser, tx)
        watch = Watch(tx, browser)
        watch.start(watch_client)
        try:
            await asyncio.wait_for(watch.opened.wait(), 30)
            if not watch.pending:
                raise Failed(f"browser stream: {watch.error or watch.final or watch.status}")
            challenge = await link.challenge_for(tx)
            body = link.app.approval(challenge, number)
            sent = time.perf_counter()
            answer = await api.post(protocol.APP_PATHS["answers"], json=body)
            returned = time.perf_counter()
            if answer.status_code != 200 or answer.json() != {"state": "approved"}:
                raise Failed(f"answer: {answer.status_code} {answer.text[:120]}")
            await asyncio.wait_for(watch.done.wait(), 30)
        finally:
            if watch.task is not None and not watch.task.done():
                await stop_tasks([watch.task])
        if watch.final != "approved":
            raise Failed(f"browser heard {watch.final or watch.error!r}")
        link.tokens.pop(tx, None)
        await complete(web, browser, tx)
        return (
            (watch.final_at - sent) * 1000,
            (watch.final_at - returned) * 1000,
            (returned - sent) * 1000,
        )

    # -- part 2 ------------------------------------------------------------------------------

    async def waiters(self) -> dict[str, Any]:
        args = self.args
        server = self.web_server
        url = server.url
        waiters, apps = args.waiters, args.apps
        print(
            f"\nPart 2: {waiters:,} waiting browsers + {apps:,} connected apps on one process"
            f" ({url})",
            flush=True,
        )
        life = float(SERVER_ENV["PORTVAKT_METHODS__PUSH__CHALLENGE_SECONDS"])
        result: dict[str, Any] = {
            "waiters_requested": waiters,
            "apps_requested": apps,
            "challenge_seconds": life,
        }
        probes = [server.probe("server started")]
        people = self.take(max(waiters, apps))

        print(f"  adding {len(people):,} push devices (untimed) ...", flush=True)
        result["devices"] = await self.enrol_all(people, url, url)
        people = [p for p in people if p.app is not None]
        signing_in = people[:waiters]
        concurrency = args.prep_concurrency

        print(f"  password step for {len(signing_in):,} browsers (untimed) ...", flush=True)
        async with new_client(url, concurrency) as web:

            async def password(person: Person) -> None:
                person.browser = await password_step(web, person.username, "/signin/factor")

            seconds, failures = await in_parallel(signing_in, concurrency, password, "sign-ins")
        signing_in = [p for p in signing_in if p.browser is not None]
        result["password_steps"] = {
            "done": len(signing_in),
            "seconds": round(seconds, 1),
            "per_second": round(len(signing_in) / seconds, 1) if seconds else 0.0,
            "failures": dict(failures),
        }
        await asyncio.sleep(2)
        probes.append(server.probe("prepared, no stream open"))

        open_n = args.open_concurrency
        app_streams, watch_streams = StreamClients(url), StreamClients(url)
        links: list[AppLink] = []
        watches: list[Watch] = []
        async with new_client(url, open_n) as web:
            try:
                # Apps first: their streams do not expire.
                links = [AppLink(p.app) for p in people[:apps] if p.app is not None]
                print(f"  opening {len(links):,} app event streams ...", flush=True)

                async def connect(link: AppLink) -> None:
                    link.start(web, app_streams.next())
                    await link.opened.wait()
                    if link.status != 200:
                        raise Failed(f"app stream: {link.status or link.error}")

                meter = CpuMeter(self.servers)
                seconds, failures = await in_parallel(links, open_n, connect, "app streams")
                result["app_streams"] = {
                    "open": sum(link.status == 200 and not link.error for link in links),
                    "seconds": round(seconds, 1),
                    "per_second": round(len(links) / seconds, 1) if seconds else 0.0,
                    "failures": dict(failures),
                    "cpu": meter.read(),
                }
                await asyncio.sleep(2)
                probes.append(server.probe(f"{len(links):,} app streams open"))
                print(f"  holding the app streams alone for {args.hold:.0f} s ...", flush=True)
                meter = CpuMeter(self.servers)
                await asyncio.sleep(args.hold)
                result["apps_only_hold_cpu"] = meter.read()

                # Then the push requests and the browsers' streams, as fast as they go, but
                # none started so late that the earliest would expire before the measurement.
                first_push = time.perf_counter()
                until = first_push + life - args.hold - TAIL - IN_FLIGHT
                print(
                    f"  starting up to {len(signing_in):,} push sign-ins and opening their"
                    f" browser streams (for at most {until - first_push:.0f} s) ...",
                    flush=True,
                )
                meter = CpuMeter(self.servers)

                async def wait_on(person: Person) -> None:
                    assert person.browser is not None
                    tx = await start_push(web, person.browser)
                    watch = Watch(tx, person.browser)
                    watches.append(watch)
                    watch.start(watch_streams.next())
                    await watch.opened.wait()
                    if not watch.pending:
                        raise Failed(f"browser stream: {watch.error or watch.final}")

                seconds, failures = await in_parallel(
                    signing_in, open_n, wait_on, "waiters", until=until
                )
                opening_cpu = meter.read()
                open_now = sum(w.waiting for w in watches)
                result["browser_streams"] = {
                    "open": open_now,
                    "started": len(watches),
                    "not_started_for_lack_of_time": len(signing_in) - len(watches),
                    "seconds": round(seconds, 1),
                    "per_second": round(len(watches) / seconds, 1) if seconds else 0.0,
                    "failures": dict(failures),
                    "cpu": opening_cpu,
                }
                print(
                    f"  {open_now:,} browsers waiting after {seconds:.0f} s"
                    f" (server CPU {opening_cpu['server_cpu_percent']:.0f}%)",
                    flush=True,
                )
                await asyncio.sleep(1)
                probes.append(server.probe("all streams open"))
                left = first_push + life - TAIL - time.perf_counter()
                hold = max(0.0, min(args.hold, left))
                print(f"  holding everything for {hold:.0f} s (keep-alives only) ...", flush=True)
                meter = CpuMeter(self.servers)
                await asyncio.sleep(hold)
                result["hold_cpu"] = meter.read() if hold > 0 else {}
                probes.append(server.probe(f"after {hold:.0f} s holding"))
                result["held"] = {
                    "browsers_waiting": sum(w.waiting for w in watches),
                    "apps_connected": sum(
                        link.task is not None and not link.task.done() for link in links
                    ),
                    "hold_seconds": round(hold, 1),
                    "first_push_age_s": round(time.perf_counter() - first_push, 1),
                }
                print(
                    f"  {result['held']['browsers_waiting']:,} browsers waiting,"
                    f" {result['held']['apps_connected']:,} apps connected; server CPU while"
                    f" holding {result['hold_cpu'].get('server_cpu_percent', 0):.0f}%",
                    flush=True,
                )
                result["sample"] = await self.sample(web, people, watches, links)
                probes.append(server.probe("after the sample approvals"))
                result["after_sample"] = {
                    "browsers_still_waiting": sum(w.waiting for w in watches),
                    "first_push_age_s": round(time.perf_counter() - first_push, 1),
                    "ended": dict(Counter(w.final or w.error for w in watches if not w.waiting)),
                }
            finally:
                await stop_tasks([w.task for w in watches] + [link.task for link in links])
                await app_streams.close()
                await watch_streams.close()
        await asyncio.sleep(3)
        probes.append(server.probe("streams closed (3 s later)"))
        result["probes"] = [p.summary() for p in probes]
        base, apps_open, full = probes[1], probes[2], probes[3]
        n_apps = result["app_streams"]["open"]
        n_browsers = result["browser_streams"]["open"]
        result["rss_kib_per_app_stream"] = (
            round((apps_open.rss_mib - base.rss_mib) * 1024 / n_apps, 1) if n_apps else None
        )
        result["rss_kib_per_browser_stream"] = (
            round((full.rss_mib - apps_open.rss_mib) * 1024 / n_browsers, 1) if n_browsers else None
        )
        show_waiters(result)
        return result

    async def sample(
        self, web: Any, people: list[Person], watches: list[Watch], links: list[AppLink]
    ) -> dict[str, Any]:
        """Approve a random sample of the waiting browsers, one after the other."""
        by_user = {link.app.device_id: link for link in links}
        person_of = {id(p.browser): p for p in people if p.browser is not None}
        candidates = []
        soon = time.time() + 10  # not those about to expire
        for watch in watches:
            person = person_of.get(id(watch.browser))
            if watch.waiting and person is not None and person.app is not None:
                link = by_user.get(person.app.device_id)
                token = link.tokens.get(watch.tx) if link is not None else None
                if link is not None and token is not None and protocol.peek(token)["exp"] > soon:
                    candidates.append((watch, link))
        chosen = random.sample(candidates, min(self.args.sample, len(candidates)))
        print(f"  approving {len(chosen)} of the waiting browsers, one at a time ...", flush=True)
        returned_ms: list[float] = []
        sent_ms: list[float] = []
        errors: Counter[str] = Counter()
        meter = CpuMeter(self.servers)
        for watch, link in chosen:
            try:
                number = await shown_number(web, watch.browser, watch.tx)
                body = link.app.approval(await link.challenge_for(watch.tx), number)
                sent = time.perf_counter()
                answer = await web.post(protocol.APP_PATHS["answers"], json=body)
                returned = time.perf_counter()
                if answer.status_code != 200:
                    raise Failed(f"answer: {answer.status_code} {answer.text[:120]}")
                await asyncio.wait_for(watch.done.wait(), 30)
                if watch.final != "approved":
                    raise Failed(f"browser heard {watch.final or watch.error!r}")
            except (httpx.HTTPError, Failed, protocol.ProtocolError, TimeoutError) as exc:
                errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                continue
            sent_ms.append((watch.final_at - sent) * 1000)
            returned_ms.append((watch.final_at - returned) * 1000)
        return {
            "approvals": len(chosen),
            "candidates": len(candidates),
            "answer_returned_to_browser": stats(returned_ms),
            "browser_before_answer_returned": sum(v < 0 for v in returned_ms),
            "answer_sent_to_browser": stats(sent_ms),
            "errors": dict(errors),
            "cpu": meter.read(),
        }


# -- output ----------------------------------------------------------------------------------


def show_latency(result: dict[str, Any]) -> None:
    s = result["answer_returned_to_browser"]
    if not s.get("count"):
        print(f"  no successful sign-ins; errors: {result['errors']}")
        return
    print(
        f"  {s['count']} sign-ins: answer returned → browser hears approved:"
        f" p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms"
        f" (errors: {sum(result['errors'].values())})",
        flush=True,
    )


def show_waiters(result: dict[str, Any]) -> None:
    s = result["sample"].get("answer_returned_to_browser", {})
    print(
        "  sample approvals under load:"
        + (
            f" p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms"
            if s.get("count")
            else " none succeeded"
        ),
        flush=True,
    )


def print_latency(part: dict[str, Any]) -> None:
    print(f"\nApproval → browser ({part['database']}, {part['where']})")
    header = f"{'measure':<44} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for label, key in (
        ("answer POST returned → browser 'approved'", "answer_returned_to_browser"),
        ("answer POST sent → browser 'approved'", "answer_sent_to_browser"),
        ("answer POST round trip", "answer_post_round_trip"),
    ):
        s = part[key]
        if s.get("count"):
            print(
                f"{label:<44} {s['count']:>5} {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f}"
                f" {s['max_ms']:>8.1f}"
            )
    cpu = part.get("cpu") or {}
    if cpu:
        print(
            f"server CPU {cpu['server_cpu_percent']:.0f}%, client {cpu['client_cpu_percent']:.0f}%,"
            f" other processes {cpu['other_cpu_percent']:.0f}% over {cpu['seconds']:.0f} s"
        )
    if part["browser_before_answer_returned"]:
        print(
            f"  the browser heard it before the answer's POST returned in"
            f" {part['browser_before_answer_returned']} sign-ins (negative values)"
        )
    if part["errors"]:
        print(f"  errors: {part['errors']}")


def print_waiters(w: dict[str, Any]) -> None:
    opening, apps = w["browser_streams"], w["app_streams"]
    print(
        f"\nWaiters on one process ({w['database']}): {opening['open']:,} browsers"
        f" (of {w['waiters_requested']:,}) + {apps['open']:,} apps (of {w['apps_requested']:,})"
        " open at once"
    )
    header = f"{'moment':<36} {'RSS MiB':>8} {'threads':>8} {'fds':>7} {'CPU s':>8}"
    print(header)
    print("-" * len(header))
    for probe in w["probes"]:
        print(
            f"{probe['label']:<36} {probe['rss_mib']:>8.1f} {probe['threads']:>8}"
            f" {probe['fds']:>7} {probe['cpu_s']:>8.1f}"
        )
    print(
        f"server RSS per open stream: app {w['rss_kib_per_app_stream']} KiB,"
        f" browser {w['rss_kib_per_browser_stream']} KiB"
    )
    rows = [
        ("opening the app streams", apps["cpu"], f"{apps['per_second']:.0f}/s"),
        ("holding the app streams alone", w["apps_only_hold_cpu"], ""),
        (
            "starting pushes + opening browser streams",
            opening["cpu"],
            f"{opening['per_second']:.0f}/s",
        ),
        ("holding everything", w["hold_cpu"], ""),
        ("the sample approvals", w["sample"]["cpu"], ""),
    ]
    header = f"{'phase':<42} {'s':>6} {'rate':>7} {'srv CPU':>8} {'client':>7} {'other':>6}"
    print(header)
    print("-" * len(header))
    for label, cpu, rate in rows:
        if cpu:
            print(
                f"{label:<42} {cpu['seconds']:>6.1f} {rate:>7} {cpu['server_cpu_percent']:>7.0f}%"
                f" {cpu['client_cpu_percent']:>6.0f}% {cpu['other_cpu_percent']:>5.0f}%"
            )
    if opening["not_started_for_lack_of_time"]:
        print(
            f"  note: {opening['not_started_for_lack_of_time']:,} push sign-ins were not started:"
            f" a challenge lives {w['challenge_seconds']:.0f} s, and the streams opened first"
            " would have expired before the measurement"
        )
    sample = w["sample"]
    s = sample.get("answer_returned_to_browser", {})
    if s.get("count"):
        print(
            f"sample approvals under that load ({s['count']} of {sample['approvals']}, answer"
            f" returned → browser): p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms,"
            f" max {s['max_ms']:.1f} ms"
        )
    if sample.get("errors"):
        print(f"  sample errors: {sample['errors']}")
    after = w["after_sample"]
    print(
        f"after the sample: {after['browsers_still_waiting']:,} browsers still waiting"
        f" ({after['first_push_age_s']:.0f} s after the first push request);"
        f" ended: {after['ended']}"
    )


def print_tables(results: dict[str, Any]) -> None:
    for part in results.get("latency", []):
        print_latency(part)
    if results.get("waiters"):
        print_waiters(results["waiters"])


def shown_option(value: Any) -> Any:
    """An option's value for the JSON results: paths as text, no password in a URL."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return value


def server_env(data_dir: Path, database: Database, shared: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    env["PORTVAKT_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(SERVER_ENV)
    if database.url is not None:
        env["PORTVAKT_DATABASE_URL"] = database.url
    env.update(shared)
    return env


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database = Database(args.database_url)
    if args.instances == 2 and database.kind != "postgresql":
        raise SystemExit("--instances 2 needs --database-url (PostgreSQL)")
    nofile = raise_nofile_limit()
    info = machine(database=database.kind)
    print(
        f"Machine: {info['nproc']} CPUs ({info['cpu_model'] or 'unknown model'}), "
        f"{info['memory_mib']:,} MiB, Python {info['python']}, portvakt {info['portvakt']}"
    )
    warn_if_busy(info)
    print("Server settings changed for the benchmark:")
    for name, value in SERVER_ENV.items():
        print(f"  {name}={value}")
    print(f"Open-file limit (client and server): {nofile}")

    parts = args.only or ["latency", "waiters"]
    needed = args.latency_concurrency * ("latency" in parts)
    needed += max(args.waiters, args.apps) * ("waiters" in parts)
    started = time.perf_counter()
    people = make_users(needed, workdir / "users.csv", prefix="push", label="Push User", totp=False)
    names = [person.username for person in people]
    print(f"Generated {len(names):,} users in {time.perf_counter() - started:.1f} s")

    ports = [free_port() for _ in range(args.instances)]
    shared: dict[str, str] = {}
    if database.kind == "postgresql":
        shared["PORTVAKT_SECRET_KEY"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        shared["PORTVAKT_PUBLIC_URL"] = f"http://127.0.0.1:{ports[0]}"
    data_dirs = [workdir / f"data-{chr(ord('a') + i)}" for i in range(args.instances)]
    for data_dir in data_dirs:
        data_dir.mkdir()
    servers: list[Server] = []
    results: dict[str, Any] = {
        "machine": info,
        "settings_changed": SERVER_ENV,
        "server_log_level": args.server_log_level,
        "instances": args.instances,
        "nofile_limit": nofile,
        "options": {k: shown_option(v) for k, v in vars(args).items()},
    }
    database.create()
    try:
        env_a = server_env(data_dirs[0], database, shared)
        seconds = import_users(workdir / "users.csv", env_a, quiet=True)
        results["import_seconds"] = round(seconds, 2)
        results["database_version"] = database.version()
        for i, (data_dir, port) in enumerate(zip(data_dirs, ports, strict=True)):
            name = chr(ord("a") + i)
            env = server_env(data_dir, database, shared)
            log_path = workdir / f"server-{name}.log"
            servers.append(
                Server(
                    env,
                    log_path,
                    args.server_log_level,
                    port=port,
                    name=name,
                    cwd=workdir,
                    raise_nofile=True,  # before any thread of ours exists
                )
            )
        for server in servers:
            server.wait_ready()
            print(
                f"Server {server.name}: {server.url} (pid {server.process.pid},"
                f" open-file limit {server.nofile_limit()})",
                flush=True,
            )
        if args.pid_file is not None:
            args.pid_file.write_text(str(servers[0].process.pid))
        results.update(run_async(benchmark(args, servers, names, database)))
    finally:
        for server in servers:
            server.stop()
        database.drop()
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print_tables(results)
    return results


async def benchmark(
    args: argparse.Namespace, servers: list[Server], names: list[str], database: Database
) -> dict[str, Any]:
    bench = Bench(args, servers, names)
    parts = args.only or ["latency", "waiters"]
    out: dict[str, Any] = {}
    if "latency" in parts:
        result = await bench.latency()
        result["database"] = database.kind
        out["latency"] = [result]
    if "waiters" in parts:
        if len(servers) > 1:
            bench.web_server = bench.api_server = servers[0]
        result = await bench.waiters()
        result["database"] = database.kind
        out["waiters"] = result
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", choices=("latency", "waiters"), help="run only these parts"
    )
    parser.add_argument("--signins", type=int, default=200, help="part 1: timed sign-ins")
    parser.add_argument("--warmup", type=int, default=5, help="part 1: untimed first sign-ins")
    parser.add_argument(
        "--latency-concurrency", type=int, default=1, help="part 1: sign-ins at a time"
    )
    parser.add_argument("--waiters", type=int, default=1000, help="part 2: waiting browsers")
    parser.add_argument("--apps", type=int, default=1000, help="part 2: connected apps")
    parser.add_argument("--sample", type=int, default=50, help="part 2: approvals under load")
    parser.add_argument(
        "--hold", type=float, default=15.0, help="part 2: seconds to hold all streams idle"
    )
    parser.add_argument(
        "--prep-concurrency", type=int, default=8, help="clients preparing users and sign-ins"
    )
    parser.add_argument(
        "--open-concurrency", type=int, default=32, help="part 2: clients opening streams"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (postgresql+psycopg://…); a fresh schema is made and dropped",
    )
    parser.add_argument(
        "--instances",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: part 1's browser on instance A, its app on B (PostgreSQL only)",
    )
    add_output_options(parser, pid_help="write server A's pid here (profiling)")
    return parser.parse_args()


def main() -> None:
    run_in_workdir(parse_args(), run_all, "push")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
