"""Validate API throughput on the real server: TOTP code checks per second (``POST
/api/v1/validate``) with p50/p99, next to a bare Starlette endpoint that computes one TOTP.

    .venv/bin/python bench/validate.py                         # 15 s at 16 and 64 clients
    .venv/bin/python bench/validate.py --json validate.json    # also write the results as JSON
    .venv/bin/python bench/validate.py --profile               # and where the server's time goes

What happens, in order:

1. A temporary data folder gets N generated users (default 120,000), each with one shared,
   precomputed argon2id hash and its own random TOTP seed, imported with
   ``portvakt user import``; ``portvakt integration add bench --json`` makes the API key.
2. ``portvakt serve`` starts as a subprocess on a free loopback port (one uvicorn process, the
   default SQLite database, nothing else changed), and so does the bare app
   (``_bare_validate.py``: Starlette under uvicorn with the settings ``portvakt serve`` uses,
   one endpoint that parses the same JSON and compares one pyotp TOTP; no database).
3. For each server and each concurrency: every client keeps one connection open and posts
   ``{"username": …, "code": …}`` with ``Authorization: Bearer KEY``, each request for the next
   user, with that user's current TOTP code (replay protection accepts a code once per user
   and time step, so no user is used twice within one 30-second step). A warm-up (untimed) is
   followed by the timed run; only ``200 {"status": "accept"}`` counts as success.
4. With ``--profile``: one more run of the real server at the highest concurrency with py-spy
   sampling it, and the top functions by own and by cumulative time.

The client is a small HTTP/1.1 keep-alive client on uvloop (``_common.RawHttp``) on the same
machine; its CPU use is reported next to the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyotp
from _common import (
    REPO,
    Load,
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
    portvakt_command,
    run_async,
    run_in_workdir,
    warn_if_busy,
)

PATH = "/api/v1/validate"
STEP = 30  # seconds per TOTP time step (the imported seeds use the default period)
PROFILE_TOP = 25
# Frames every sample of a thread passes through (process start-up, CLI, the event loop's
# and threads' entry points): left out of the cumulative list, where they would fill the top.
ENTRY_FRAMES = (
    "<frozen runpy>",
    "(typer/",
    "(portvakt/__main__.py)",
    "(portvakt/cli/",
    "(uvicorn/main.py)",
    "(uvicorn/server.py)",
    "(uvicorn/_compat.py)",
    "(asyncio/runners.py)",
    "(asyncio/base_events.py)",
    "(asyncio/events.py)",
    "(threading.py)",
)


# -- users and codes -------------------------------------------------------------------------


class Codes:
    """Hands out (username, current code), round-robin over the users; with ``once_per_step``
    never the same user twice within one time step: the real server would reject the second
    use as a replay (the bare app keeps no replay state)."""

    def __init__(self, people: list[User], *, once_per_step: bool = True) -> None:
        self.people = people
        self.once_per_step = once_per_step
        self.totps = [pyotp.TOTP(person.seed) for person in people]
        self.last_step = [-1] * len(people)
        self.next = 0
        self.exhausted = 0

    def take(self) -> tuple[str, str] | None:
        now = time.time()
        step = int(now // STEP)
        index = self.next
        if self.once_per_step and self.last_step[index] >= step:
            # the least recently used one was used in this step: so were all the others
            self.exhausted += 1
            return None
        self.last_step[index] = step
        self.next = (index + 1) % len(self.people)
        return self.people[index].username, self.totps[index].at(now)


class CodeChecks:
    """The request-maker: one code check per call, on the calling worker's own keep-alive
    connection (opened on first use, and again if the server closed it)."""

    def __init__(self, codes: Codes, server: Server, key: str, concurrency: int) -> None:
        self.codes = codes
        self.port = server.port
        self.connections: list[RawHttp | None] = [None] * concurrency
        self.headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
        self.host = f"127.0.0.1:{server.port}"

    async def __call__(self, worker: int) -> str | None:
        taken = self.codes.take()
        if taken is None:
            await asyncio.sleep(0.05)
            return "no user left in this time step (raise --users)"
        username, code = taken
        body = json.dumps({"username": username, "code": code}).encode()
        connection = self.connections[worker]
        if connection is None or connection.transport is None:
            connection = self.connections[worker] = await RawHttp.open("127.0.0.1", self.port)
        status, answer = await connection.request(
            http_request("POST", PATH, host=self.host, headers=self.headers, body=body)
        )
        if status == 200 and answer == b'{"status":"accept"}':
            return None
        try:
            parsed = json.loads(answer)
            shown = parsed.get("status") or parsed.get("error")
        except (ValueError, AttributeError):
            shown = answer[:40].decode(errors="replace")
        return f"{status} {shown}"

    def close(self) -> None:
        for connection in self.connections:
            if connection is not None:
                connection.close()


# -- runs ------------------------------------------------------------------------------------


async def measure(
    target: str, server: Server, codes: Codes, key: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    for concurrency in args.concurrency:
        request = CodeChecks(codes, server, key, concurrency)
        try:
            await drive(request, concurrency=concurrency, duration=args.warmup)
            load = await drive(
                request, concurrency=concurrency, duration=args.duration, servers=[server]
            )
        finally:
            request.close()
        result = {"target": target, **load.summary()}
        if codes.exhausted:
            result["note"] = f"users ran out within a time step {codes.exhausted} times"
            codes.exhausted = 0
        show(result)
        results.append(result)
    return results


async def profiled(
    server: Server, codes: Codes, key: str, args: argparse.Namespace, out: Path
) -> tuple[Load, int, str]:
    """A run at the highest concurrency with py-spy sampling the server for its duration;
    (the run, py-spy's exit status, py-spy's output)."""
    concurrency = max(args.concurrency)
    request = CodeChecks(codes, server, key, concurrency)
    try:
        await drive(request, concurrency=concurrency, duration=args.warmup)
        spy = await asyncio.create_subprocess_exec(
            *py_spy_command(server.pid, args, out),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        await asyncio.sleep(0.5)  # py-spy attaches
        load = await drive(
            request, concurrency=concurrency, duration=args.duration, servers=[server]
        )
        output, _ = await spy.communicate()
    finally:
        request.close()
    return load, spy.returncode or 0, output.decode(errors="replace")


def py_spy_command(pid: int, args: argparse.Namespace, out: Path) -> list[str]:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return [
        found,
        "record",
        "--pid",
        str(pid),
        "--rate",
        str(args.profile_rate),
        "--duration",
        str(int(args.duration + 0.999)),
        "--gil",  # only the thread holding the GIL: the server's Python CPU, which bounds it
        "--nonblocking",  # do not pause the server per sample (40 threads × 200 Hz would)
        "--format",
        "raw",
        "--nolineno",
        "--output",
        str(out),
    ]


# -- the profile -----------------------------------------------------------------------------


def read_profile(path: Path) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """From py-spy's raw output (one ``frame;frame;… count`` line per distinct stack, outermost
    first): total samples, samples by own function (the innermost frame), by cumulative
    function (any frame of the stack, counted once per sample), and own samples by package."""
    total = 0
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        for frame in set(frames):
            cumulative[frame] += count
    return total, own, cumulative, packages


def package_of(frame: str) -> str:
    """``execute (sqlalchemy/engine/base.py)`` → ``sqlalchemy``; the standard library's modules
    by their module name (``json``, ``threading``)."""
    inside = frame.rpartition(" (")[2].rstrip(")")
    first = inside.split("/", 1)[0]
    return first.removesuffix(".py") or "?"


def is_entry(frame: str) -> bool:
    return any(part in frame for part in ENTRY_FRAMES)


def show_profile(path: Path, load: Load) -> dict[str, Any]:
    total, own, cumulative, packages = read_profile(path)
    print(
        f"\nProfile of the real server at c={load.concurrency} (py-spy --gil: the thread"
        f" holding the GIL): {total:,} samples; that run gave {load.rate:.0f} checks/s"
        " under the profiler"
    )
    if not total:
        return {"samples": 0}

    def rows(counter: Counter[str], title: str) -> list[dict[str, Any]]:
        print(f"\n{title:<88} {'%':>6}")
        found = []
        for name, count in counter.most_common(PROFILE_TOP):
            print(f"  {name[:86]:<86} {100 * count / total:>6.1f}")
            found.append({"function": name, "percent": round(100 * count / total, 2)})
        return found

    result = {
        "samples": total,
        "own_by_package": rows(packages, "own time by package"),
        "own": rows(own, "own time by function (innermost frame)"),
        "cumulative": rows(
            Counter({k: v for k, v in cumulative.items() if not is_entry(k)}),
            "cumulative time by function (anywhere in the stack; entry points left out)",
        ),
        "requests_per_s_while_profiled": round(load.rate, 1),
    }
    return result


# -- output ----------------------------------------------------------------------------------


def show(s: dict[str, Any]) -> None:
    print(
        f"  {s['target']:<10} c={s['concurrency']:<4} {s['requests_per_s']:>8.1f} checks/s"
        f"  p50 {s['p50_ms']:>7.2f} ms  p99 {s['p99_ms']:>7.2f} ms  ok {s['ok']:>7}"
        f"  errors {s['errors']:>5}  (server CPU {s['server_cpu_percent']:.0f}%,"
        f" {s['server_cpu_ms_per_request']:.3f} ms/req; client CPU {s['client_cpu_percent']:.0f}%;"
        f" other {s['other_cpu_percent']:.0f}%)" + (f"  NOTE: {s['note']}" if s["note"] else ""),
        flush=True,
    )


def print_table(results: list[dict[str, Any]]) -> dict[str, float]:
    header = (
        f"{'server':<10} {'conc':>4} {'checks/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ok':>8}"
        f" {'errors':>6} {'srv CPU':>7} {'srv ms/req':>10} {'client':>6} {'other':>6}"
    )
    print("\n" + header)
    print("-" * len(header))
    for s in results:
        print(
            f"{s['target']:<10} {s['concurrency']:>4} {s['requests_per_s']:>9.1f}"
            f" {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} {s['ok']:>8} {s['errors']:>6}"
            f" {s['server_cpu_percent']:>6.0f}% {s['server_cpu_ms_per_request']:>10.3f}"
            f" {s['client_cpu_percent']:>5.0f}% {s['other_cpu_percent']:>5.0f}%"
        )
        if s["errors"]:
            print(f"    errors: {s['error_kinds']}")
        if s["note"]:
            print(f"    note: {s['note']}")
    ratios = {}
    by = {(s["target"], s["concurrency"]): s["requests_per_s"] for s in results}
    for (target, concurrency), rate in by.items():
        bare = by.get(("bare", concurrency))
        if target == "portvakt" and bare:
            ratios[str(concurrency)] = round(rate / bare, 3)
            print(
                f"portvakt / bare Starlette at c={concurrency}: {rate / bare:.2f}"
                f" ({rate:.0f} / {bare:.0f} checks/s)"
            )
    return ratios


# -- the whole benchmark ---------------------------------------------------------------------


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    env["PORTVAKT_DATA_DIR"] = str(data_dir)
    return env


def add_integration(env: dict[str, str]) -> str:
    answer = subprocess.run(
        [*portvakt_command(), "integration", "add", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key: str = json.loads(answer.stdout)["api_key"]
    return key


async def benchmark(
    servers: dict[str, Server], people: list[User], key: str, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], tuple[Load, int, str] | None]:
    codes = Codes(people)
    results: list[dict[str, Any]] = []
    for target, server in servers.items():
        print(f"\n{target}: {server.url}", flush=True)
        own = codes if target == "portvakt" else Codes(people, once_per_step=False)
        results += await measure(target, server, own, key, args)
    spied = None
    if args.profile:
        print("\nProfiling the real server (py-spy) ...", flush=True)
        spied = await profiled(servers["portvakt"], codes, key, args, args.profile_out)
    return results, spied


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    env = server_env(workdir / "data")
    info = machine()
    print(
        f"Machine: {info['nproc']} CPUs ({info['cpu_model'] or 'unknown model'}), "
        f"Python {info['python']}, SQLite {info['sqlite']}, portvakt {info['portvakt']}"
        f" ({info['source']})"
    )
    warn_if_busy(info)
    print(f"Server log level: {args.server_log_level} (`portvakt serve --log-level`), both servers")

    started = time.perf_counter()
    people = make_users(args.users, workdir / "users.csv")
    print(f"\nGenerated {len(people):,} users in {time.perf_counter() - started:.1f} s")
    import_seconds = import_users(workdir / "users.csv", env, quiet=True)
    print(f"Imported them in {import_seconds:.1f} s")
    key = add_integration(env)
    if args.profile and args.profile_out is None:
        args.profile_out = workdir / "profile.txt"

    servers: dict[str, Server] = {}
    try:
        if not args.no_bare:
            port = free_port()
            bare = [sys.executable, str(REPO / "bench" / "_bare_validate.py"), "--port", str(port)]
            bare += ["--users", str(workdir / "users.csv"), "--key", key]
            bare += ["--log-level", args.server_log_level]
            servers["bare"] = Server(
                env, workdir / "bare.log", port=port, name="bare", command=bare
            )
        servers["portvakt"] = Server(env, workdir / "server.log", args.server_log_level)
        for server in servers.values():
            server.wait_ready()
        if args.pid_file is not None:
            args.pid_file.write_text(str(servers["portvakt"].pid))
        results, spied = run_async(benchmark(servers, people, key, args))
    finally:
        for server in servers.values():
            server.stop()
    ratios = print_table(results)
    out: dict[str, Any] = {
        "machine": info,
        "server_log_level": args.server_log_level,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "users": args.users,
        "import_seconds": round(import_seconds, 2),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "results": results,
        "ratio_to_bare": ratios,
    }
    if spied is not None:
        load, status, output = spied
        if status != 0 or not args.profile_out.exists():
            print(f"\npy-spy failed ({status}):\n{output[-2000:]}")
        else:
            out["profile"] = show_profile(args.profile_out, load)
            print(f"\nRaw profile (py-spy collapsed stacks): {args.profile_out}")
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_options(parser, users=120_000, warmup=3.0)
    parser.add_argument("--no-bare", action="store_true", help="leave out the bare Starlette app")
    parser.add_argument("--profile", action="store_true", help="one more run under py-spy")
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's raw output here")
    add_output_options(parser, pid_help="write the server's pid here (profiling)")
    return parser.parse_args()


def main() -> None:
    run_in_workdir(parse_args(), run_all, "validate")


if __name__ == "__main__":
    main()
