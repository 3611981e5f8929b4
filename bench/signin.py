"""Sign-in throughput of the real server: password sign-ins and second-factor code checks.

    .venv/bin/python bench/signin.py                              # 15 s at 16 and 64 clients
    .venv/bin/python bench/signin.py --duration 15 --concurrency 16 64 --json out.json

What happens, in order:

1. A temporary data folder gets N generated users (default 30,000), each with one shared,
   precomputed argon2id hash and a random TOTP seed, imported with ``portvakt user import``.
2. ``portvakt serve`` starts as a subprocess on a free loopback port (one uvicorn process, the
   default SQLite database), and is stopped at the end, also on error or Ctrl-C.
3. Phase A, password sign-ins: every client repeatedly opens ``GET /signin`` as a fresh browser
   (new CSRF cookie and token) and posts a fresh user's password; only the ``POST /signin`` is
   timed, and only ``303 → /signin/factor`` counts as success.
4. Phase B, second-factor code checks: sign-ins with the password step already done are
   prepared first (untimed; it costs one argon2 verification each), then every client posts
   the user's current TOTP code to ``POST /signin/factor``; only ``303 → /account`` with a new
   session cookie counts as success. Replay protection accepts one code per user and time step,
   and a finished sign-in is gone, so every timed request uses its own prepared sign-in. A short
   probe measures the code-check rate first and sizes the pools from it.

The per-IP password limit (50 per 15 minutes by default) would stop the benchmark after 50
sign-ins from 127.0.0.1, so it is raised through the environment; see ``SERVER_ENV``. The
benchmark client runs on the same machine and its CPU use is reported next to the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import time
from collections import Counter, deque
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyotp
from _common import (
    PASSWORD,
    CpuMeter,
    Server,
    User,
    add_load_options,
    add_output_options,
    import_users,
    machine,
    make_users,
    new_client,
    percentile,
    run_in_workdir,
    warn_if_busy,
)

# Settings the benchmark changes, and why (printed and written to the JSON results).
SERVER_ENV = {
    # 50 attempts per IP per 15 minutes would stop every client on 127.0.0.1 almost at once.
    "PORTVAKT_PASSWORD_ATTEMPTS_PER_IP": "100000000",
    # Prepared sign-ins must outlive the preparation of the later pools (default 600 s).
    "PORTVAKT_SIGNIN_TTL_SECONDS": "3600",
}
CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PREP_CONCURRENCY = 8  # enough to keep every core busy with argon2 while preparing
SAFETY = 1.25  # prepared sign-ins per expected code check


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    env["PORTVAKT_DATA_DIR"] = str(data_dir)
    env.update(SERVER_ENV)
    return env


# -- measurement -------------------------------------------------------------------------------


@dataclass
class Run:
    phase: str
    concurrency: int
    duration_s: float = 0.0
    requests: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    note: str = ""

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {
            "phase": self.phase,
            "concurrency": self.concurrency,
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "ok": self.ok,
            "errors": sum(self.errors.values()),
            "error_kinds": self.errors,
            "requests_per_s": round(self.ok / self.duration_s, 1) if self.duration_s else 0.0,
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "mean_ms": round(statistics.fmean(lat), 2) if lat else 0.0,
            "max_ms": round(lat[-1], 2) if lat else 0.0,
            "server_cpu_percent": round(100 * self.server_cpu_s / self.duration_s, 1)
            if self.duration_s
            else 0.0,
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / self.requests, 2)
            if self.requests
            else 0.0,
            "client_cpu_percent": round(100 * self.client_cpu_s / self.duration_s, 1)
            if self.duration_s
            else 0.0,
            # CPU used by everything else on the machine meanwhile: should be near 0
            "other_cpu_percent": round(
                100
                * (self.machine_cpu_s - self.server_cpu_s - self.client_cpu_s)
                / self.duration_s,
                1,
            )
            if self.duration_s
            else 0.0,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in with the password step done, waiting for its second factor."""

    user: User
    totp: pyotp.TOTP
    csrf_cookie: str
    csrf_token: str
    signin_cookie: str


def set_cookies(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


async def open_signin_page(client: httpx.AsyncClient) -> tuple[str, str]:
    """(CSRF cookie, CSRF token) as a fresh browser gets them."""
    page = await client.get("/signin")
    token = CSRF_TOKEN.search(page.text)
    cookie = set_cookies(page).get("pv_csrf")
    if page.status_code != 200 or token is None or cookie is None:
        raise RuntimeError(f"GET /signin gave {page.status_code} without a CSRF token")
    return cookie, token.group(1)


async def password_step(client: httpx.AsyncClient, user: User, run: Run | None) -> Pending | None:
    """GET /signin, then POST /signin (the timed part when ``run`` is given)."""
    csrf_cookie, csrf_token = await open_signin_page(client)
    form = {"username": user.username, "password": PASSWORD, "csrf_token": csrf_token}
    started = time.perf_counter()
    answer = await client.post("/signin", data=form, headers={"cookie": f"pv_csrf={csrf_cookie}"})
    elapsed = time.perf_counter() - started
    signin_cookie = set_cookies(answer).get("pv_signin")
    ok = (
        answer.status_code == 303
        and answer.headers.get("location") == "/signin/factor"
        and signin_cookie is not None
    )
    if run is not None:
        run.requests += 1
        run.latencies_ms.append(elapsed * 1000)
        if ok:
            run.ok += 1
        else:
            count_error(run, f"status {answer.status_code}")
    if not ok or signin_cookie is None:
        return None
    return Pending(user, pyotp.TOTP(user.seed), csrf_cookie, csrf_token, signin_cookie)


async def code_step(client: httpx.AsyncClient, pending: Pending, run: Run) -> None:
    """POST /signin/factor with the current code (timed)."""
    form = {"code": pending.totp.now(), "kind": "totp", "csrf_token": pending.csrf_token}
    cookie = f"pv_csrf={pending.csrf_cookie}; pv_signin={pending.signin_cookie}"
    started = time.perf_counter()
    answer = await client.post("/signin/factor", data=form, headers={"cookie": cookie})
    elapsed = time.perf_counter() - started
    run.requests += 1
    run.latencies_ms.append(elapsed * 1000)
    if (
        answer.status_code == 303
        and answer.headers.get("location") == "/account"
        and "pv_session" in set_cookies(answer)
    ):
        run.ok += 1
    else:
        count_error(run, f"status {answer.status_code}")


def count_error(run: Run, kind: str) -> None:
    run.errors[kind] = run.errors.get(kind, 0) + 1


class Users:
    """Hands out each generated user once."""

    def __init__(self, people: list[User]) -> None:
        self._people: Iterator[User] = iter(people)
        self.left = len(people)

    def take(self) -> User | None:
        person = next(self._people, None)
        if person is not None:
            self.left -= 1
        return person


async def timed(run: Run, server: Server, work: Awaitable[object]) -> None:
    """Run ``work`` (a coroutine) and record wall time and the CPU time of the server, of this
    client and of the whole machine (interrupt time, which includes loopback networking, is
    left out)."""
    meter = CpuMeter([server], interrupts=False)
    await work
    used = meter.used()
    run.duration_s = used.wall
    run.server_cpu_s = used.server
    run.client_cpu_s = used.client
    run.machine_cpu_s = used.machine


async def password_run(
    server: Server, users: Users, concurrency: int, duration: float, harvest: deque[Pending]
) -> Run:
    run = Run("password sign-in (POST /signin)", concurrency)
    async with new_client(server.url, concurrency) as client:
        # Warm-up: open every connection once, untimed.
        await prepare(client, users, concurrency, concurrency, harvest)
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                person = users.take()
                if person is None:
                    run.note = "ran out of users"
                    return
                try:
                    pending = await password_step(client, person, run)
                except (httpx.HTTPError, RuntimeError) as exc:
                    count_error(run, type(exc).__name__)
                    continue
                if pending is not None:
                    harvest.append(pending)

        await timed(run, server, asyncio.gather(*(worker() for _ in range(concurrency))))
    return run


async def prepare(
    client: httpx.AsyncClient, users: Users, count: int, concurrency: int, into: deque[Pending]
) -> int:
    """Do the password step for ``count`` fresh users (untimed); returns failures."""
    failures = Counter[str]()
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            person = users.take()
            if person is None:
                return
            try:
                pending = await password_step(client, person, None)
            except (httpx.HTTPError, RuntimeError) as exc:
                failures[type(exc).__name__] += 1
                continue
            if pending is None:
                failures["password step refused"] += 1
            else:
                into.append(pending)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sum(failures.values())


async def code_run(
    server: Server, pool: deque[Pending], concurrency: int, duration: float, phase: str
) -> Run:
    run = Run(phase, concurrency)
    async with new_client(server.url, concurrency) as client:
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                if not pool:
                    run.note = "prepared sign-ins ran out before the end"
                    return
                try:
                    await code_step(client, pool.popleft(), run)
                except httpx.HTTPError as exc:
                    count_error(run, type(exc).__name__)

        await timed(run, server, asyncio.gather(*(worker() for _ in range(concurrency))))
    return run


async def fill_pool(server: Server, users: Users, pool: deque[Pending], target: int) -> None:
    missing = target - len(pool)
    if missing <= 0:
        return
    missing = min(missing, users.left)
    print(f"  preparing {missing:,} sign-ins (password step, untimed) ...", flush=True)
    started = time.perf_counter()
    async with new_client(server.url, PREP_CONCURRENCY) as client:
        failures = await prepare(client, users, missing, PREP_CONCURRENCY, pool)
    seconds = time.perf_counter() - started
    print(
        f"  prepared {missing - failures:,} in {seconds:.0f} s "
        f"({(missing - failures) / seconds:.0f}/s, {failures} failed)",
        flush=True,
    )


# -- the whole benchmark -----------------------------------------------------------------------


def show(run: Run) -> None:
    s = run.summary()
    print(
        f"  c={s['concurrency']:<4} {s['requests_per_s']:>8.1f} req/s  p50 {s['p50_ms']:>7.1f} ms"
        f"  p99 {s['p99_ms']:>7.1f} ms  ok {s['ok']:>6}  errors {s['errors']:>4}"
        f"  ({s['duration_s']:.1f} s; server CPU {s['server_cpu_percent']:.0f}%,"
        f" {s['server_cpu_ms_per_request']:.2f} ms/req; client CPU {s['client_cpu_percent']:.0f}%;"
        f" other processes {s['other_cpu_percent']:.0f}%)"
        + (f"  NOTE: {s['note']}" if s["note"] else ""),
        flush=True,
    )


async def benchmark(
    server: Server, people: list[User], args: argparse.Namespace
) -> tuple[list[Run], Run]:
    """The measured runs, and the probe (warm-up and pool sizing, not a result)."""
    users = Users(people)
    harvest: deque[Pending] = deque()
    runs: list[Run] = []

    print("\nPhase A: password sign-ins (GET /signin untimed, POST /signin timed)", flush=True)
    for concurrency in args.concurrency:
        run = await password_run(server, users, concurrency, args.duration, harvest)
        runs.append(run)
        show(run)

    print("\nPhase B: second-factor code checks (POST /signin/factor timed)", flush=True)
    probe: deque[Pending] = deque()
    await fill_pool(server, users, probe, args.probe)
    top = max(args.concurrency)
    probe_run = await code_run(server, probe, top, 60, "code check probe")
    rate = probe_run.ok / probe_run.duration_s if probe_run.duration_s else 100.0
    print(f"  probe: {probe_run.ok} checks at c={top}, {rate:.0f}/s (warm-up, not reported)")
    probe_run.note = "warm-up and pool sizing, not part of the results"
    for concurrency in args.concurrency:
        await fill_pool(server, users, harvest, math.ceil(rate * args.duration * SAFETY))
        run = await code_run(
            server,
            harvest,
            concurrency,
            args.duration,
            "second-factor code check (POST /signin/factor)",
        )
        runs.append(run)
        show(run)
        rate = max(rate, run.ok / run.duration_s if run.duration_s else 0.0)
    return runs, probe_run


def print_table(runs: list[Run]) -> None:
    header = (
        f"{'phase':<48} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>7}"
        f" {'errors':>6} {'srv CPU':>7} {'srv ms/req':>10}"
    )
    print("\n" + header)
    print("-" * len(header))
    for run in runs:
        s = run.summary()
        print(
            f"{s['phase']:<48} {s['concurrency']:>4} {s['requests_per_s']:>8.1f}"
            f" {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f} {s['ok']:>7} {s['errors']:>6}"
            f" {s['server_cpu_percent']:>6.0f}% {s['server_cpu_ms_per_request']:>10.2f}"
        )
        if s["note"]:
            print(f"    note: {s['note']}")
        if s["other_cpu_percent"] > 10:
            print(f"    note: other processes used {s['other_cpu_percent']:.0f}% CPU meanwhile")
        if s["errors"]:
            print(f"    errors: {s['error_kinds']}")


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / "data"
    env = server_env(data_dir)
    info = machine()
    print(
        f"Machine: {info['nproc']} CPUs ({info['cpu_model'] or 'unknown model'}), "
        f"Python {info['python']}, SQLite {info['sqlite']}, portvakt {info['portvakt']}"
        f" ({info['source']})"
    )
    warn_if_busy(info)
    print("Server settings changed for the benchmark:")
    for name, value in SERVER_ENV.items():
        print(f"  {name}={value}")
    print(f"Server log level: {args.server_log_level} (`portvakt serve --log-level`)")

    started = time.perf_counter()
    people = make_users(args.users, workdir / "users.csv")
    print(f"\nGenerated {len(people):,} users in {time.perf_counter() - started:.1f} s")
    import_seconds = import_users(workdir / "users.csv", env)

    server = Server(env, workdir / "server.log", args.server_log_level, stop_timeout=20)
    try:
        server.wait_ready()
        print(f"Server: {server.url} (pid {server.process.pid})", flush=True)
        if args.pid_file is not None:
            args.pid_file.write_text(str(server.process.pid))
        runs, probe = asyncio.run(benchmark(server, people, args))
    finally:
        server.stop()
    print_table(runs)
    return {
        "machine": info,
        "settings_changed": SERVER_ENV,
        "server_log_level": args.server_log_level,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "users": args.users,
        "import_seconds": round(import_seconds, 2),
        "duration_s": args.duration,
        "results": [run.summary() for run in runs],
        "probe": probe.summary(),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_options(parser, users=30_000)
    parser.add_argument("--probe", type=int, default=500, help="sign-ins for the rate probe")
    add_output_options(parser, pid_help="write the server's pid here (profiling)")
    return parser.parse_args()


def main() -> None:
    run_in_workdir(parse_args(), run_all, "signin")


if __name__ == "__main__":
    main()
