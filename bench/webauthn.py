"""WebAuthn assertions verified per second by the real server, next to the validate API's code
checks measured in the same run.

    .venv/bin/python bench/webauthn.py                         # 15 s at 16 clients
    .venv/bin/python bench/webauthn.py --json webauthn.json --concurrency 16 64

What happens, in order:

1. A temporary data folder gets N generated users (default 40,000: a code is accepted once
   per person and 30-second step, so the baseline needs many) with TOTP seeds, imported
   with ``portvakt user import``; ``portvakt integration add bench --json`` makes an API key.
2. ``portvakt serve`` starts on a free loopback port (one uvicorn process, SQLite).
3. **Baseline: validate-API code checks**, exactly as ``bench/validate.py`` makes them
   (``POST /api/v1/validate`` with a current TOTP code, keep-alive connections).
4. **WebAuthn.** Each client signs one user in (password and TOTP code), adds a security key
   on Security info (the software authenticator of ``tests/softkey.py``: P-256, ES256, a sign
   count that goes up), then loops a step-up: ``POST /account/verify/webauthn`` issues a
   challenge (303 to the waiting page), ``GET`` the waiting page reads its options, and
   ``POST /account/verify/webauthn/answer`` carries the signed assertion; only its
   ``303 → /account`` counts. The rate is of whole ceremonies (three requests); the p50/p99
   shown for the assertion are of the answer ``POST`` alone, which is where the server checks
   the assertion (py_webauthn: origin, RP ID hash, challenge, flags, ES256 signature, sign
   count by compare-and-set) and counts the step-up, in one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyotp
from _common import (
    PASSWORD,
    REPO,
    Server,
    User,
    add_load_options,
    add_output_options,
    drive,
    import_users,
    machine,
    make_users,
    percentile,
    run_async,
    run_in_workdir,
    warn_if_busy,
)
from validate import CodeChecks, Codes, add_integration, server_env

sys.path.insert(0, str(REPO))
from tests.softkey import SoftKey

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OPTIONS = re.compile(r'<script type="application/json" id="webauthn-options">(.*?)</script>', re.S)
ANSWER = re.compile(r'action="(/account/verify/webauthn/answer\?[^"]+)"')


def _token(page: str) -> str:
    found = TOKEN.search(page)
    if found is None:
        raise RuntimeError("page without a CSRF token")
    return found.group(1)


class Browser:
    """One person's browser: a cookie-keeping client, signed in, with a key on Security info."""

    def __init__(self, server: Server, user: User) -> None:
        self.client = httpx.AsyncClient(base_url=server.url, follow_redirects=False, timeout=120)
        self.user = user
        origin = server.url
        self.key = SoftKey(origin=origin, rp_id="127.0.0.1")
        self.token = ""
        self.answer_ms: list[float] = []

    async def page(self, path: str) -> str:
        answer = await self.client.get(path)
        self.token = _token(answer.text) if "csrf_token" in answer.text else self.token
        return answer.text

    async def post(self, path: str, **form: str) -> httpx.Response:
        return await self.client.post(path, data={**form, "csrf_token": self.token})

    async def set_up(self) -> None:
        await self.page("/signin")
        await self.post("/signin", username=self.user.username, password=PASSWORD)
        await self.page("/signin/factor")
        code = pyotp.TOTP(self.user.seed).now()
        done = await self.post("/signin/factor", code=code, kind="totp")
        if done.headers.get("location") != "/account":
            raise RuntimeError(f"sign-in of {self.user.username} failed: {done.status_code}")
        await self.page("/account/methods/add/webauthn")
        added = await self.post("/account/methods/add", kind="webauthn", label="Bench key")
        confirm = await self.page(added.headers["location"])
        options = json.loads(html.unescape(OPTIONS.search(confirm).group(1)))  # type: ignore[union-attr]
        payload = json.dumps(self.key.register(options))
        ok = await self.post(added.headers["location"], payload=payload)
        if ok.headers.get("location") != "/account":
            raise RuntimeError(f"adding the key failed: {ok.status_code} {ok.text[:200]}")

    async def step_up(self) -> str | None:
        issued = await self.post("/account/verify/webauthn")
        if issued.status_code != 303:
            return f"issue {issued.status_code}"
        wait = await self.page(issued.headers["location"])
        found, action = OPTIONS.search(wait), ANSWER.search(wait)
        if found is None or action is None:
            return "waiting page without options"
        options = json.loads(html.unescape(found.group(1)))
        payload = json.dumps(self.key.assertion(options))
        begun = time.perf_counter()
        done = await self.post(html.unescape(action.group(1)), payload=payload)
        self.answer_ms.append((time.perf_counter() - begun) * 1000)
        if done.status_code == 303 and done.headers.get("location") == "/account":
            return None
        return f"answer {done.status_code}"


async def measure_webauthn(
    server: Server, people: list[User], args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    for concurrency in args.concurrency:
        browsers = [Browser(server, people[i]) for i in range(concurrency)]
        await asyncio.gather(*(b.set_up() for b in browsers))

        async def ceremony(worker: int, browsers: list[Browser] = browsers) -> str | None:
            return await browsers[worker].step_up()

        await drive(ceremony, concurrency=concurrency, duration=args.warmup)
        for b in browsers:
            b.answer_ms.clear()
        load = await drive(
            ceremony, concurrency=concurrency, duration=args.duration, servers=[server]
        )
        answers = sorted(ms for b in browsers for ms in b.answer_ms)
        for b in browsers:
            await b.client.aclose()
        result = {
            "target": "webauthn step-up",
            **load.summary(),
            "assertion_p50_ms": round(percentile(answers, 50), 2),
            "assertion_p99_ms": round(percentile(answers, 99), 2),
        }
        print(
            f"  webauthn c={concurrency}: {result['requests_per_s']:.1f} assertions/s, "
            f"answer p50 {result['assertion_p50_ms']} ms p99 {result['assertion_p99_ms']} ms, "
            f"errors {result['errors']} {result['error_kinds']}",
            flush=True,
        )
        results.append(result)
        people = people[concurrency:]
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
        print(
            f"  validate c={concurrency}: {result['requests_per_s']:.1f} checks/s, "
            f"p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms, errors {result['errors']}",
            flush=True,
        )
        results.append(result)
    return results


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    env = server_env(workdir / "data")
    info = machine()
    print(f"Machine: {info['nproc']} CPUs, Python {info['python']}, portvakt {info['portvakt']}")
    warn_if_busy(info)
    people = make_users(args.users, workdir / "users.csv")
    import_users(workdir / "users.csv", env, quiet=True)
    key = add_integration(env)
    server = Server(env, workdir / "server.log", args.server_log_level)
    try:
        server.wait_ready()
        needed = sum(args.concurrency)
        codes = run_async(measure_codes(server, people[needed:], key, args))
        ceremonies = run_async(measure_webauthn(server, people[:needed], args))
    finally:
        server.stop()
    ratio = {
        str(c["concurrency"]): round(w["requests_per_s"] / c["requests_per_s"], 3)
        for c, w in zip(codes, ceremonies, strict=True)
        if c["requests_per_s"]
    }
    print(f"\nWebAuthn step-ups per validate code check (same run): {ratio}")
    return {
        "machine": info,
        "duration_s": args.duration,
        "results": codes + ceremonies,
        "webauthn_per_code_check": ratio,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_options(parser, users=40_000, warmup=2.0)
    add_output_options(parser, pid_help="write the server's pid here (profiling)")
    args = parser.parse_args()
    if args.concurrency == [16, 64]:
        args.concurrency = [16]
    return args


def main() -> None:
    run_in_workdir(parse_args(), run_all, "webauthn")


if __name__ == "__main__":
    main()
