"""SMS sends queued per second by the real server (``POST /api/v1/validate`` with
``{"username", "method": "sms"}``), next to the validate API's code checks in the same run, with
the gateway's side: what a local receiver got, how fast, and how long the queue took to drain.

    .venv/bin/python bench/sms.py                          # 10 s per phase at 16 clients
    .venv/bin/python bench/sms.py --json sms.json --gateway file

What happens, in order:

1. A temporary data folder gets N generated users (default 60,000) with TOTP seeds, imported
   with ``portvakt user import``; the first ``--sms-users`` of them (default 4,000) also get a
   phone number in the import's ``phone`` column (an operator-registered number, ``+479…``).
   ``portvakt integration add bench --json`` makes an API key.
2. The gateway: ``--gateway http`` (default) starts a small HTTP receiver on loopback in a
   thread of this process (asyncio, answers ``200 {}`` to every request, keep-alive) and points
   the server's real HTTP gateway adapter at it (``PORTVAKT_SMS_GATEWAY=http``,
   ``PORTVAKT_SMS_HTTP__URL``); ``--gateway file`` uses the development file gateway
   (``PORTVAKT_SMS_FILE``), which this script tails.
3. ``portvakt serve`` starts on a free loopback port (one uvicorn process, SQLite), with the SMS
   send budgets raised to their maxima (below): the benchmark measures throughput, not them.
4. **Phones, the product path.** Each SMS user signs in as a person would (password, TOTP
   code), opens *Add sign-in method → text message* on Security info, which offers the number
   the operator registered, begins (``POST /account/methods/add`` ``kind=sms``), reads the
   code off the gateway (the receiver or the file) and confirms it: the phone is an active,
   confirmed SMS credential. One argon2id check per user, so this is the slow part of a run.
5. **Phase A, baseline: validate-API code checks**, exactly as ``bench/validate.py`` makes them.
6. **Phase B, SMS sends.** Every client posts ``{"username": …, "method": "sms"}`` for the next
   SMS user on a keep-alive connection; only ``200 {"status": "pending", "transaction_id"}``
   counts. The server checks and spends the budgets, writes the challenge (the code's keyed
   hash) and its audit row, commits, and hands the text to the in-process queue; its one worker
   sends it through the gateway. A user is asked for again only after ``resend_seconds`` (30 s)
   plus one, as the server would refuse earlier. After the untimed warm-up the script waits
   for the queue to drain, so the timed run starts with an empty queue; after it, it waits for
   the drain again and reports what the gateway got: messages delivered per second during the
   run, the drain time after the last answer, the lag from answer to delivery (by number, http
   gateway; the file is polled every 50 ms), and texts the server dropped because its queue was
   full (counted from the server log).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyotp
from _common import (
    PASSWORD,
    RawHttp,
    Server,
    User,
    add_load_options,
    add_output_options,
    drive,
    free_port,
    http_request,
    import_users,
    machine,
    make_users,
    percentile,
    run_async,
    run_in_workdir,
    warn_if_busy,
)
from validate import PATH, CodeChecks, Codes, add_integration, server_env

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WEBOTP = re.compile(r"#(\d{6})\s*$")
OFFERED = re.compile(r'<input id="phone"[^>]*?value="([^"]*)"', re.S)
RESEND_S = 30  # the server's resend_seconds (the default, not changed)
DROPPED = "dropped: the send queue is full"
QUIET_S = 3.0  # no new message for this long: the queue has drained

# Settings changed for the benchmark (printed with the results).
BUDGETS = {
    "PORTVAKT_METHODS__SMS__PER_NUMBER_HOUR": "100",  # the maxima the settings allow
    "PORTVAKT_METHODS__SMS__PER_PERSON_QUARTER": "100",
    "PORTVAKT_METHODS__SMS__PER_PERSON_HOUR": "100",
    "PORTVAKT_METHODS__SMS__PER_PREFIX_HOUR": "100000",  # every bench phone is in one range
    "PORTVAKT_METHODS__SMS__PER_PERSON_DAY": "1000",
    "PORTVAKT_METHODS__SMS__PER_ADDRESS_HOUR": "10000",  # setup: every phone from 127.0.0.1
    "PORTVAKT_METHODS__SMS__PER_SERVICE_HOUR": "1000000",
    "PORTVAKT_PASSWORD_ATTEMPTS_PER_IP": "100000000",  # setup: every sign-in from 127.0.0.1
}


def phone_of(index: int) -> str:
    """A valid Norwegian mobile number per user (``+479…``, eight digits after +47)."""
    return f"+479{index:07d}"


def add_phones(path: Path, count: int) -> None:
    """The import file's ``phone`` column for its first ``count`` rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("phone")
    for i, row in enumerate(rows[1 : count + 1]):
        row[column] = phone_of(i)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


# -- the gateway's side ----------------------------------------------------------------------


@dataclass
class Inbox:
    """Texts the gateway got: (perf_counter when seen, to, text), in order of arrival."""

    got: list[tuple[float, str, str]] = field(default_factory=list)
    latest: dict[str, str] = field(default_factory=dict)  # number → its newest text

    def add(self, to: str, text: str) -> None:
        self.got.append((time.perf_counter(), to, text))
        self.latest[to] = text

    async def code_for(self, number: str, timeout: float = 60.0) -> str:
        """The code of the next text to ``number`` (its WebOTP line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.latest.pop(number, None)
            if text is not None:
                found = WEBOTP.search(text)
                if found is None:
                    raise RuntimeError("a text without its WebOTP line")
                return found.group(1)
            await asyncio.sleep(0.02)
        raise RuntimeError(f"no text to {number} within {timeout:.0f} s")

    async def quiet(self, seconds: float = QUIET_S, timeout: float = 300.0) -> float:
        """Wait until nothing arrived for ``seconds``; the perf_counter of the last arrival."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.got[-1][0] if self.got else 0.0
            if time.perf_counter() - last >= seconds:
                return last
            await asyncio.sleep(0.1)
        return self.got[-1][0] if self.got else 0.0

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Receiver(asyncio.Protocol):
    """One connection to the HTTP receiver: HTTP/1.1 requests with a Content-Length, each
    answered ``200 {}``; the JSON body's ``to`` and ``text`` go to the inbox."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in bytes(self.buffer[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            try:
                message = json.loads(body)
                self.inbox.add(str(message["to"]), str(message["text"]))
            except (ValueError, KeyError, TypeError):
                pass
            if self.transport is not None:
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: 2\r\n\r\n{}"
                )


class HttpInbox(Inbox):
    """The HTTP receiver on its own event loop in a thread, so the load this script makes
    does not delay the gateway's answers."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/messages"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        serving = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(lambda: Receiver(self), "127.0.0.1", self.port), self.loop
        )
        self.server = serving.result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def env(self) -> dict[str, str]:
        return {"PORTVAKT_SMS_GATEWAY": "http", "PORTVAKT_SMS_HTTP__URL": self.url}


class FileInbox(Inbox):
    """The file gateway's file, read every 50 ms by a thread (a line's time is when seen)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.running = True
        self.thread = threading.Thread(target=self._tail, daemon=True)

    def start(self) -> None:
        self.path.touch()
        self.thread.start()

    def stop(self) -> None:
        self.running = False
        self.thread.join(5)

    def _tail(self) -> None:
        with self.path.open(encoding="utf-8") as handle:
            partial = ""
            while self.running:
                chunk = handle.read()
                if not chunk:
                    time.sleep(0.05)
                    continue
                lines = (partial + chunk).split("\n")
                partial = lines.pop()
                for line in lines:
                    message = json.loads(line)
                    self.add(str(message["to"]), str(message["text"]))

    def env(self) -> dict[str, str]:
        return {"PORTVAKT_SMS_GATEWAY": "file", "PORTVAKT_SMS_FILE": str(self.path)}


# -- phones: the product path ----------------------------------------------------------------


def _token(page: str) -> str:
    found = TOKEN.search(page)
    if found is None:
        raise RuntimeError("page without a CSRF token")
    return found.group(1)


async def add_phone(server: Server, user: User, number: str, inbox: Inbox) -> None:
    """Sign in (password, TOTP), add the text-message method with the number the operator
    registered, and confirm it with the code the gateway got."""
    async with httpx.AsyncClient(base_url=server.url, follow_redirects=False, timeout=120) as web:
        token = _token((await web.get("/signin")).text)
        await web.post("/signin", data={"username": user.username, "password": PASSWORD,
                                        "csrf_token": token})  # fmt: skip
        token = _token((await web.get("/signin/factor")).text)
        code = pyotp.TOTP(user.seed).now()
        done = await web.post(
            "/signin/factor", data={"code": code, "kind": "totp", "csrf_token": token}
        )
        if done.headers.get("location") != "/account":
            raise RuntimeError(f"sign-in of {user.username} failed: {done.status_code}")
        start = (await web.get("/account/methods/add/sms")).text
        offered = OFFERED.search(start)  # the start page offers the registered number
        if offered is None or offered.group(1) != number:
            raise RuntimeError("the add page does not offer the registered number")
        form = {"kind": "sms", "phone": offered.group(1), "csrf_token": _token(start)}
        added = await web.post("/account/methods/add", data=form)
        where = added.headers.get("location", "")
        if added.status_code != 303 or not where.endswith("/confirm"):
            raise RuntimeError(f"adding the phone failed: {added.status_code} {added.text[:200]}")
        token = _token((await web.get(where)).text)
        sent = await inbox.code_for(number)
        ok = await web.post(where, data={"code": sent, "csrf_token": token})
        if ok.headers.get("location") != "/account":
            raise RuntimeError(f"confirming the phone failed: {ok.status_code}")


async def add_phones_all(
    server: Server, people: list[User], inbox: Inbox, concurrency: int
) -> float:
    """Every SMS user's phone, ``concurrency`` at a time; returns the seconds it took."""
    started = time.perf_counter()
    todo = iter(enumerate(people))
    done = 0

    async def worker() -> None:
        nonlocal done
        for index, user in todo:
            await add_phone(server, user, phone_of(index), inbox)
            done += 1
            if done % 500 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:,} phones confirmed ({rate:.0f}/s)", flush=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


# -- phase B: sends --------------------------------------------------------------------------


class Recipients:
    """Hands out SMS users round-robin; a user is asked for again only ``wait`` seconds after
    the last time (the server's resend wait), else the run notes that users ran out."""

    def __init__(self, people: list[User], wait: float) -> None:
        self.people = people
        self.wait = wait
        self.last = [-1e9] * len(people)
        self.next = 0
        self.exhausted = 0

    def take(self) -> tuple[int, User] | None:
        index = self.next
        now = time.monotonic()
        if now - self.last[index] < self.wait:
            self.exhausted += 1
            return None
        self.last[index] = now
        self.next = (index + 1) % len(self.people)
        return index, self.people[index]


class Sends:
    """The request-maker of phase B: one ``{"username", "method": "sms"}`` per call on the
    worker's own keep-alive connection; records when each number's send was answered."""

    def __init__(self, recipients: Recipients, server: Server, key: str, concurrency: int) -> None:
        self.recipients = recipients
        self.port = server.port
        self.host = f"127.0.0.1:{server.port}"
        self.headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
        self.connections: list[RawHttp | None] = [None] * concurrency
        self.answered: dict[str, deque[float]] = {}

    async def __call__(self, worker: int) -> str | None:
        taken = self.recipients.take()
        if taken is None:
            await asyncio.sleep(0.05)
            return "no user past its resend wait (raise --sms-users)"
        index, user = taken
        body = json.dumps({"username": user.username, "method": "sms"}).encode()
        connection = self.connections[worker]
        if connection is None or connection.transport is None:
            connection = self.connections[worker] = await RawHttp.open("127.0.0.1", self.port)
        status, answer = await connection.request(
            http_request("POST", PATH, host=self.host, headers=self.headers, body=body)
        )
        try:
            parsed = json.loads(answer)
        except ValueError:
            return f"{status} {answer[:40].decode(errors='replace')}"
        if status == 200 and parsed.get("status") == "pending" and parsed.get("transaction_id"):
            self.answered.setdefault(phone_of(index), deque()).append(time.perf_counter())
            return None
        return f"{status} {parsed.get('status') or parsed.get('error')}"

    def close(self) -> None:
        for connection in self.connections:
            if connection is not None:
                connection.close()


def dropped_in_log(log: Path) -> int:
    return log.read_text(errors="replace").count(DROPPED)


async def measure_sends(
    server: Server, people: list[User], key: str, inbox: Inbox, args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    recipients = Recipients(people, wait=RESEND_S + 1)
    for concurrency in args.concurrency:
        sends = Sends(recipients, server, key, concurrency)
        try:
            await drive(sends, concurrency=concurrency, duration=args.warmup)
            await inbox.quiet()  # the timed run starts with an empty queue
            sends.answered.clear()
            dropped_before = dropped_in_log(server.log_path)
            first = len(inbox.got)
            load = await drive(
                sends, concurrency=concurrency, duration=args.duration, servers=[server]
            )
        finally:
            sends.close()
        ended = time.perf_counter()
        began = ended - load.duration_s
        last = await inbox.quiet()
        got = inbox.got[first:]
        in_run = sum(1 for t, _to, _text in got if t <= ended)
        lags = []
        for t, to, _text in got:
            queue = sends.answered.get(to)
            if queue:
                lags.append((t - queue.popleft()) * 1000)
        lags.sort()
        dropped = dropped_in_log(server.log_path) - dropped_before
        result = {
            "target": "sms send",
            **load.summary(),
            "server_cpu_ms_per_send": round(1000 * load.cpu.server / load.ok, 3)
            if load.cpu is not None and load.ok
            else 0.0,  # requests above also count the waits for a user past its resend wait
            "gateway": args.gateway,
            "delivered": len(got),
            "delivered_in_run": in_run,
            "delivered_per_s_in_run": round(in_run / load.duration_s, 1) if load.duration_s else 0,
            "delivered_per_s_overall": round(len(got) / (last - began), 1) if got else 0.0,
            "drain_s_after_last_answer": round(max(0.0, last - ended), 2) if got else 0.0,
            "dropped_queue_full": dropped,
            "unaccounted": load.ok - len(got) - dropped,  # neither delivered nor dropped
            "lag_p50_ms": round(percentile(lags, 50), 1),
            "lag_p99_ms": round(percentile(lags, 99), 1),
            "lag_max_ms": round(lags[-1], 1) if lags else 0.0,
        }
        if recipients.exhausted:
            result["note"] = f"users ran out {recipients.exhausted} times (raise --sms-users)"
            recipients.exhausted = 0
        print(
            f"  sms c={concurrency}: {result['requests_per_s']:.1f} sends/s answered, "
            f"p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms, errors {result['errors']}"
            f" {result['error_kinds']}; gateway got {len(got)} ({in_run} during the run,"
            f" {result['delivered_per_s_in_run']}/s), drained {result['drain_s_after_last_answer']}"
            f" s after, dropped {dropped}"
            + (f"; NOTE: {result['note']}" if result["note"] else ""),
            flush=True,
        )
        results.append(result)
    return results


async def measure_codes(
    server: Server, people: list[User], key: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    codes = Codes(people)
    for concurrency in args.concurrency:
        request = CodeChecks(codes, server, key, concurrency)
        try:
            await drive(request, concurrency=concurrency, duration=args.warmup)
            load = await drive(
                request, concurrency=concurrency, duration=args.duration, servers=[server]
            )
        finally:
            request.close()
        result = {"target": "validate code check", **load.summary()}
        if codes.exhausted:
            result["note"] = f"users ran out within a time step {codes.exhausted} times"
            codes.exhausted = 0
        print(
            f"  validate c={concurrency}: {result['requests_per_s']:.1f} checks/s, "
            f"p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms, errors {result['errors']}",
            flush=True,
        )
        results.append(result)
    return results


# -- output ----------------------------------------------------------------------------------


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'phase':<20} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>7}"
        f" {'errors':>6} {'srv CPU':>7} {'srv ms/req':>10} {'other':>6}"
    )
    print("\n" + header)
    print("-" * len(header))
    for s in results:
        print(
            f"{s['target']:<20} {s['concurrency']:>4} {s['requests_per_s']:>8.1f}"
            f" {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} {s['ok']:>7} {s['errors']:>6}"
            f" {s['server_cpu_percent']:>6.0f}% {s['server_cpu_ms_per_request']:>10.3f}"
            f" {s['other_cpu_percent']:>5.0f}%"
        )
        if s["errors"]:
            print(f"    errors: {s['error_kinds']}")
        if s["note"]:
            print(f"    note: {s['note']}")
    for s in results:
        if s["target"] == "sms send":
            print(
                f"\nServer CPU per answered send: {s['server_cpu_ms_per_send']} ms"
                f"\nGateway ({s['gateway']}), c={s['concurrency']}: {s['delivered']:,} texts"
                f" received, {s['delivered_in_run']:,} during the run"
                f" ({s['delivered_per_s_in_run']}/s; {s['delivered_per_s_overall']}/s until"
                f" drained); queue drained {s['drain_s_after_last_answer']} s after the last"
                f" answer; lag answer → gateway p50 {s['lag_p50_ms']:,} ms, p99"
                f" {s['lag_p99_ms']:,} ms, max {s['lag_max_ms']:,} ms;"
                f" {s['dropped_queue_full']:,} dropped (queue full), {s['unaccounted']:,}"
                " neither delivered nor dropped"
            )


# -- the whole benchmark ---------------------------------------------------------------------


async def benchmark(
    server: Server,
    people: list[User],
    sms_people: list[User],
    key: str,
    inbox: Inbox,
    args: argparse.Namespace,
) -> tuple[float, list[dict[str, Any]], list[dict[str, Any]]]:
    print(f"\nConfirming {len(sms_people):,} phones (sign-in, add, code) ...", flush=True)
    setup_s = await add_phones_all(server, sms_people, inbox, args.setup_concurrency)
    print(
        f"  {len(sms_people):,} phones in {setup_s:.1f} s ({len(sms_people) / setup_s:.0f}/s)",
        flush=True,
    )
    await inbox.quiet()
    print("\nPhase A: validate-API code checks", flush=True)
    codes = await measure_codes(server, people, key, args)
    print(f"\nPhase B: SMS sends ({args.gateway} gateway)", flush=True)
    sends = await measure_sends(server, sms_people, key, inbox, args)
    return setup_s, codes, sends


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    env = server_env(workdir / "data")
    info = machine()
    print(
        f"Machine: {info['nproc']} CPUs ({info['cpu_model'] or 'unknown model'}), Python"
        f" {info['python']}, SQLite {info['sqlite']}, portvakt {info['portvakt']}"
        f" ({info['source']}), load average {info['load_average_at_start']}"
    )
    warn_if_busy(info)
    if args.sms_users > args.users:
        raise SystemExit("--sms-users cannot be more than --users")
    people = make_users(args.users, workdir / "users.csv")
    add_phones(workdir / "users.csv", args.sms_users)
    import_seconds = import_users(workdir / "users.csv", env, quiet=True)
    print(f"Imported {args.users:,} users ({args.sms_users:,} with a phone) in"
          f" {import_seconds:.1f} s")  # fmt: skip
    key = add_integration(env)
    inbox: HttpInbox | FileInbox = (
        HttpInbox() if args.gateway == "http" else FileInbox(workdir / "sms.jsonl")
    )
    settings = {**BUDGETS, **inbox.env()}
    print("Settings for the benchmark (budgets raised: throughput, not budgets, is measured):")
    for name, value in settings.items():
        print(f"  {name}={value}")
    env.update(settings)
    inbox.start()
    server = Server(env, workdir / "server.log", args.server_log_level)
    try:
        server.wait_ready()
        if args.pid_file is not None:
            args.pid_file.write_text(str(server.pid))
        sms_people = people[: args.sms_users]
        setup_s, codes, sends = run_async(benchmark(server, people, sms_people, key, inbox, args))
    finally:
        server.stop()
        inbox.stop()
    print_table(codes + sends)
    ratio = {
        str(c["concurrency"]): round(s["requests_per_s"] / c["requests_per_s"], 3)
        for c, s in zip(codes, sends, strict=True)
        if c["requests_per_s"]
    }
    print(f"\nSMS sends answered per validate code check (same run): {ratio}")
    return {
        "machine": info,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "server_log_level": args.server_log_level,
        "gateway": args.gateway,
        "settings": settings,
        "users": args.users,
        "sms_users": args.sms_users,
        "import_seconds": round(import_seconds, 2),
        "phone_setup_seconds": round(setup_s, 2),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "results": codes + sends,
        "sms_sends_per_code_check": ratio,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_options(parser, users=60_000, warmup=2.0)
    parser.set_defaults(duration=10.0, concurrency=[16])
    parser.add_argument("--sms-users", type=int, default=4000, help="users given a confirmed phone")
    parser.add_argument("--gateway", choices=("http", "file"), default="http")
    parser.add_argument(
        "--setup-concurrency", type=int, default=8, help="people adding phones at a time"
    )
    add_output_options(parser, pid_help="write the server's pid here (profiling)")
    return parser.parse_args()


def main() -> None:
    run_in_workdir(parse_args(), run_all, "sms")


if __name__ == "__main__":
    main()
