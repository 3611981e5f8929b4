"""What the benchmark scripts share: generated users and their import, the server as a child
process, CPU metering from ``/proc``, the machine's description, percentiles, HTTP clients, and
a load driver that runs any async request-maker at a concurrency for a duration.

Not a benchmark itself; ``signin.py``, ``push.py`` and ``validate.py`` import it (the scripts are
run as ``python bench/NAME.py``, so ``bench/`` is on ``sys.path``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import ctypes
import functools
import importlib.util
import json
import math
import os
import platform
import resource
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any, Protocol

import httpx2 as httpx

from portvakt import __version__
from portvakt.crypto.hashing import hash_password

PASSWORD = "benchmark passphrase for every user"
REPO = Path(__file__).resolve().parents[1]


# -- users -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    username: str
    seed: str  # base32 TOTP seed; "" when the user has none


def make_users(
    count: int, path: Path, *, prefix: str = "bench", label: str = "Bench User", totp: bool = True
) -> list[User]:
    """Write an import file for ``portvakt user import``: every row shares one precomputed
    argon2id hash of ``PASSWORD`` (the server's own parameters), and with ``totp`` each row
    has its own random 160-bit TOTP seed."""
    shared_hash = hash_password(PASSWORD)
    people = [
        User(f"{prefix}{i:06d}", base64.b32encode(secrets.token_bytes(20)).decode() if totp else "")
        for i in range(count)
    ]
    columns = ["username", "display_name", "email", "phone", "password_hash"]
    columns += ["totp_secret"] if totp else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i, person in enumerate(people):
            row = [
                person.username,
                f"{label} {i}",
                f"{person.username}@example.org",
                "",
                shared_hash,
            ]
            writer.writerow(row + ([person.seed] if totp else []))
    return people


def portvakt_command() -> list[str]:
    """``python -m portvakt`` once ``portvakt/__main__.py`` exists, else the CLI entry point."""
    if importlib.util.find_spec("portvakt.__main__") is not None:
        return [sys.executable, "-m", "portvakt"]
    return [sys.executable, "-c", "from portvakt.cli.main import main; main()"]


def import_users(path: Path, env: dict[str, str], *, quiet: bool = False) -> float:
    """``portvakt user import PATH`` as an operator runs it; returns its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [*portvakt_command(), "user", "import", str(path)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - started


# -- the server as a child process -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_nofile_limit() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies without stopping the server (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_setup(raise_nofile: bool) -> None:  # runs in the child between fork and exec
    _die_with_parent()
    if raise_nofile:
        raise_nofile_limit()


def exit_on_sigterm(signum: int, _frame: object) -> None:
    """A SIGTERM handler: unwind through ``finally`` blocks, which stop the servers."""
    raise SystemExit(128 + signum)


@dataclass(frozen=True, slots=True)
class Probe:
    """One look at the server process (``/proc/<pid>``)."""

    label: str
    at_s: float
    rss_mib: float
    hwm_mib: float
    threads: int
    fds: int
    cpu_s: float

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "at_s": round(self.at_s, 1),
            "rss_mib": round(self.rss_mib, 1),
            "peak_rss_mib": round(self.hwm_mib, 1),
            "threads": self.threads,
            "fds": self.fds,
            "cpu_s": round(self.cpu_s, 2),
        }


def serve_command(port: int, log_level: str) -> list[str]:
    """``portvakt serve`` on a loopback port (one uvicorn process)."""
    return [
        *portvakt_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        log_level,
    ]


class Server:
    """A server (by default ``portvakt serve``) as a child process in its own session; it gets
    SIGTERM if the benchmark dies, and ``stop`` (SIGINT, then SIGKILL) is safe to call twice."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        log_level: str = "info",
        *,
        port: int | None = None,
        name: str = "server",
        cwd: Path | None = None,
        command: list[str] | None = None,
        raise_nofile: bool = False,
        stop_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.stop_timeout = stop_timeout
        self.started = time.monotonic()
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command if command is not None else serve_command(self.port, log_level),
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=functools.partial(_child_setup, raise_nofile),  # before any thread of ours
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60.0, path: str = "/healthz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"server not ready after {timeout:.0f} s:\n{self.log()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def probe(self, label: str) -> Probe:
        status: dict[str, str] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            status[name] = value.strip()
        return Probe(
            label=label,
            at_s=time.monotonic() - self.started,
            rss_mib=int(status["VmRSS"].split()[0]) / 1024,
            hwm_mib=int(status["VmHWM"].split()[0]) / 1024,
            threads=int(status["Threads"]),
            fds=len(os.listdir(f"/proc/{self.pid}/fd")),
            cpu_s=self.cpu_seconds(),
        )

    def nofile_limit(self) -> int:
        for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])
        return 0

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# -- CPU -------------------------------------------------------------------------------------


class HasCpu(Protocol):
    def cpu_seconds(self) -> float: ...


def machine_cpu_seconds(*, interrupts: bool = True) -> float:
    """CPU time all processes on the machine have used (``/proc/stat``), in seconds; with
    ``interrupts`` (irq, softirq and steal, which include loopback networking) counted too."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    busy = user + nice + system + (irq + softirq + steal if interrupts else 0)
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuUse:
    """Seconds of wall time and of CPU (servers, this client, the whole machine)."""

    wall: float
    server: float
    client: float
    machine: float

    def percentages(self) -> dict[str, float]:
        pct = 100 / self.wall if self.wall > 0 else 0.0
        return {
            "seconds": round(self.wall, 2),
            "server_cpu_percent": round(self.server * pct, 1),
            "client_cpu_percent": round(self.client * pct, 1),
            "other_cpu_percent": round((self.machine - self.server - self.client) * pct, 1),
        }


class CpuMeter:
    """CPU used by the servers, this client and the whole machine between start and read."""

    def __init__(self, servers: Sequence[HasCpu], *, interrupts: bool = True) -> None:
        self.servers = servers
        self.interrupts = interrupts
        self.wall = time.perf_counter()
        self.server = sum(s.cpu_seconds() for s in servers)
        self.client = time.process_time()
        self.machine = machine_cpu_seconds(interrupts=interrupts)

    def used(self) -> CpuUse:
        return CpuUse(
            wall=time.perf_counter() - self.wall,
            server=sum(s.cpu_seconds() for s in self.servers) - self.server,
            client=time.process_time() - self.client,
            machine=machine_cpu_seconds(interrupts=self.interrupts) - self.machine,
        )

    def read(self) -> dict[str, float]:
        return self.used().percentages()


# -- statistics ------------------------------------------------------------------------------


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "min_ms": round(ordered[0], 2),
        "p50_ms": round(percentile(ordered, 50), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


# -- the machine -----------------------------------------------------------------------------


def source_version() -> str:
    """The git commit of the code under test, with ``+dirty`` if ``src/`` has local changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+dirty" if changed else "")


def event_loop_name() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def machine(**extra: Any) -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": int(meminfo[1]) // 1024 if len(meminfo) > 1 else 0,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "portvakt": __version__,
        "source": source_version(),
        "sqlite": sqlite3.sqlite_version,
        "http_client": f"httpx2 {httpx.__version__}",
        "client_event_loop": event_loop_name(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        **extra,
    }


def warn_if_busy(info: dict[str, Any]) -> None:
    busy = info["load_average_at_start"][0]
    if busy > 0.5 * info["nproc"]:
        print(f"WARNING: load average is {busy:.2f}; other work on this machine skews the figures")


def run_async(main: Awaitable[Any]) -> Any:
    """Run on uvloop when it is installed (it comes with uvicorn): less client CPU."""
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)  # type: ignore[arg-type]
    return asyncio.run(main)  # type: ignore[arg-type]


# -- HTTP clients ----------------------------------------------------------------------------


def new_client(base_url: str, connections: int, *, read_timeout: float | None = 120) -> Any:
    """A pooled httpx2 client that keeps no cookies (every browser carries its own)."""
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(120, read=read_timeout)
    return httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=timeout,
        cookies=no_cookies,
        follow_redirects=False,
    )


def http_request(
    method: str, path: str, *, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    """An HTTP/1.1 request as bytes, for ``RawHttp``."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method not in {"GET", "HEAD"}:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawHttp(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that sends prepared request bytes and reads answers
    with a ``Content-Length`` (no chunked bodies, one request at a time).

    httpx2 spends about 0.6 ms of client CPU per request here, so on a 2-core machine it
    cannot send more than about 1,500 requests a second and would measure itself, not the
    server; this costs about 0.05 ms."""

    def __init__(self) -> None:
        self.transport: Any = None  # an asyncio.Transport, or uvloop's own kind
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> RawHttp:
        loop = asyncio.get_running_loop()
        _transport, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end])
        length = -1
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length < 0:
            waiter.set_exception(ConnectionError("answer without a Content-Length"))
            return
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one request; (status, body) of its answer."""
        if self.transport is None:
            raise ConnectionError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# -- the load driver -------------------------------------------------------------------------

# A request-maker: called with the worker's index (0 … concurrency-1, so each worker can keep
# its own connection); returns None for a success, or a short text naming what went wrong.
RequestMaker = Callable[[int], Awaitable[str | None]]


@dataclass
class Load:
    """What one ``drive`` measured."""

    concurrency: int
    duration_s: float = 0.0
    requests: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)  # of every request, ok or not
    cpu: CpuUse | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.duration_s if self.duration_s else 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        cpu = self.cpu.percentages() if self.cpu is not None else {}
        return {
            "concurrency": self.concurrency,
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "ok": self.ok,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors.most_common(10)),
            "requests_per_s": round(self.rate, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "mean_ms": round(statistics.fmean(lat), 2) if lat else 0.0,
            "max_ms": round(lat[-1], 2) if lat else 0.0,
            "server_cpu_percent": cpu.get("server_cpu_percent", 0.0),
            "server_cpu_ms_per_request": round(1000 * self.cpu.server / self.requests, 3)
            if self.cpu is not None and self.requests
            else 0.0,
            "client_cpu_percent": cpu.get("client_cpu_percent", 0.0),
            "other_cpu_percent": cpu.get("other_cpu_percent", 0.0),
            "note": self.note,
        }


async def drive(
    request: RequestMaker,
    *,
    concurrency: int,
    duration: float,
    servers: Sequence[HasCpu] = (),
) -> Load:
    """Run ``request`` in ``concurrency`` workers, each starting its next request as soon as
    the last one is answered, until ``duration`` seconds have passed; requests under way then
    finish, and the run's time is until the last one did. Latency is measured around each call
    (as the client sees it, queueing in the server included); an exception counts as an error
    named by its type. CPU use of ``servers``, this client and the machine is measured over the
    same time."""
    load = Load(concurrency)
    meter = CpuMeter(servers)
    started = time.perf_counter()
    deadline = started + duration

    async def worker(index: int) -> None:
        clock = time.perf_counter
        while clock() < deadline:
            begun = clock()
            try:
                failure = await request(index)
            except Exception as exc:  # a benchmark counts every kind of failure
                failure = type(exc).__name__
            load.latencies_ms.append((clock() - begun) * 1000)
            load.requests += 1
            if failure is None:
                load.ok += 1
            else:
                load.errors[failure] += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    load.duration_s = time.perf_counter() - started
    load.cpu = meter.used()
    return load


# -- the command line ------------------------------------------------------------------------


def add_load_options(
    parser: argparse.ArgumentParser, *, users: int, warmup: float | None = None
) -> None:
    """``--duration``, ``--concurrency``, ``--users`` (and ``--warmup`` when given a default)."""
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    if warmup is not None:
        parser.add_argument(
            "--warmup", type=float, default=warmup, help="untimed seconds before each"
        )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--users", type=int, default=users, help="users to generate")


def add_output_options(parser: argparse.ArgumentParser, *, pid_help: str) -> None:
    """``--json``, ``--keep``, ``--server-log-level`` and ``--pid-file``, as every script has."""
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", type=Path, help="work in this new folder and keep it")
    parser.add_argument(
        "--server-log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level; info (the default of portvakt serve) logs every request",
    )
    parser.add_argument("--pid-file", type=Path, help=pid_help)


def run_in_workdir(
    args: argparse.Namespace,
    run_all: Callable[[argparse.Namespace, Path], dict[str, Any]],
    name: str,
) -> None:
    """``run_all(args, folder)`` in ``--keep``'s new folder or a temporary one; then the JSON.
    SIGTERM ends the run like Ctrl-C, so servers and folders are cleaned up."""
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        results = run_all(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix=f"portvakt-{name}-bench-") as workdir:
            results = run_all(args, Path(workdir))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nResults written to {args.json}")
