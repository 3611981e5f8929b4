"""Token-endpoint throughput on the real server: authorization-code exchanges (PKCE S256, an ID
token signed each time), refresh-token rotations and client-credentials grants per second,
with p50/p99, at 16 and 64 clients.

    .venv/bin/python bench/oidc_tokens.py                       # 15 s per grant and concurrency
    .venv/bin/python bench/oidc_tokens.py --json token.json

What happens, in order:

1. A temporary data folder gets N generated users (``portvakt user import``) and two apps
   (``portvakt client add … --json``): a confidential web app, and a service allowed the
   client-credentials grant.
2. ``portvakt serve`` starts as a subprocess on a free loopback port (one uvicorn process, the
   default SQLite database, nothing else changed).
3. **Codes.** A browser sign-in costs an argon2id hash (``bench/signin.py`` measures that), so
   the codes are minted straight into the database just before each run: one ``oidc_grant``
   row per code, exactly the row ``portvakt.core.oidc.authorize.issue_code`` writes (hash of
   the code, PKCE challenge, redirect URI, what the sign-in proved, valid 60 s). Each client
   then posts ``grant_type=authorization_code`` with ``client_secret_basic``, the code and the
   PKCE verifier; success is a 200 with an access, refresh and ID token.
4. **Refresh.** Each client holds its own refresh token (from one exchange) and rotates it:
   every answer's new refresh token is the next request's.
5. **Client credentials.** ``grant_type=client_credentials`` with the service's secret.

The client is ``_common.RawHttp`` (keep-alive HTTP/1.1 on uvloop) on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import (
    RawHttp,
    Server,
    add_load_options,
    add_output_options,
    drive,
    http_request,
    import_users,
    machine,
    make_users,
    portvakt_command,
    run_async,
    run_in_workdir,
    warn_if_busy,
)
from sqlalchemy import insert, select

from portvakt.app import build
from portvakt.crypto.hashing import sha256_hex
from portvakt.settings import Settings
from portvakt.store.models import OidcClient, OidcGrant, User

PATH = "/oauth2/token"
GRANTS = ("authorization_code", "refresh_token", "client_credentials")
REDIRECT = "https://portal.example.org/callback"
VERIFIER = secrets.token_urlsafe(48)
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)


def add_client(env: dict[str, str], name: str, *extra: str) -> dict[str, Any]:
    answer = subprocess.run(
        [*portvakt_command(), "client", "add", name, "--redirect-uri", REDIRECT, *extra, "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    created: dict[str, Any] = json.loads(answer.stdout)
    return created


def mint_codes(data_dir: Path, client_id: str, count: int) -> list[str]:
    """``count`` fresh codes for generated users, in one transaction (see the docstring)."""
    runtime = build(Settings(data_dir=data_dir), upgrade=False)
    try:
        now = datetime.now(UTC)
        codes = [secrets.token_urlsafe(32) for _ in range(count)]
        with runtime.core.store.write() as s:
            client_pk = s.scalar(select(OidcClient.id).where(OidcClient.client_id == client_id))
            user_ids = list(s.scalars(select(User.id).order_by(User.id)))
            rows = [
                {
                    "client_pk": client_pk,
                    "user_id": user_ids[i % len(user_ids)],
                    "session_id": sha256_hex(code),
                    "scope": "openid profile email",
                    "nonce": "n",
                    "auth_time": now,
                    "acr": "urn:portvakt:acr:mfa",
                    "amr": ["pwd", "otp", "mfa"],
                    "code_hash": sha256_hex(code),
                    "code_expires_at": now + timedelta(seconds=60),
                    "redirect_uri": REDIRECT,
                    "code_challenge": CHALLENGE,
                    "created_at": now,
                    "expires_at": now + timedelta(seconds=60),
                }
                for i, code in enumerate(codes)
            ]
            s.execute(insert(OidcGrant), rows)
        return codes
    finally:
        runtime.core.store.dispose()


def basic(client: dict[str, Any]) -> str:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class TokenCalls:
    """The request-maker: one token request per call on the worker's own connection; ``form``
    gives the worker's next form, ``answer`` sees each 200 body."""

    def __init__(
        self,
        server: Server,
        client: dict[str, Any],
        concurrency: int,
        form: Callable[[int], dict[str, str] | None],
        answer: Callable[[int, dict[str, Any]], None] = lambda _w, _b: None,
    ) -> None:
        self.port = server.port
        self.host = f"127.0.0.1:{server.port}"
        self.headers = {
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic(client),
        }
        self.connections: list[RawHttp | None] = [None] * concurrency
        self.form = form
        self.answer = answer

    async def __call__(self, worker: int) -> str | None:
        form = self.form(worker)
        if form is None:
            await asyncio.sleep(0.05)
            return "no code left (raise --codes)"
        connection = self.connections[worker]
        if connection is None or connection.transport is None:
            connection = self.connections[worker] = await RawHttp.open("127.0.0.1", self.port)
        body = urlencode(form).encode()
        status, raw = await connection.request(
            http_request("POST", PATH, host=self.host, headers=self.headers, body=body)
        )
        if status != 200:
            return f"{status} {raw[:60].decode(errors='replace')}"
        parsed = json.loads(raw)
        if "access_token" not in parsed:
            return "200 without access_token"
        self.answer(worker, parsed)
        return None

    def close(self) -> None:
        for connection in self.connections:
            if connection is not None:
                connection.close()


async def run(
    label: str, calls: TokenCalls, server: Server, args: argparse.Namespace, concurrency: int
) -> dict[str, Any]:
    if args.warmup:
        await drive(calls, concurrency=concurrency, duration=args.warmup)
    load = await drive(calls, concurrency=concurrency, duration=args.duration, servers=[server])
    calls.close()
    summary = {"grant": label, **load.summary()}
    print(
        f"  {label:<18} c={concurrency:<4} {summary['requests_per_s']:>8.1f}/s"
        f"  p50 {summary['p50_ms']:>7.2f} ms  p99 {summary['p99_ms']:>7.2f} ms"
        f"  errors {summary['errors']}  (server {summary['server_cpu_ms_per_request']:.3f} ms"
        f" CPU/req)" + (f"  {summary['error_kinds']}" if summary["errors"] else ""),
        flush=True,
    )
    return summary


async def code_run(
    server: Server, web: dict[str, Any], codes: list[str], args: argparse.Namespace, c: int
) -> dict[str, Any]:
    calls = TokenCalls(server, web, c, code_forms(codes))
    return await run("authorization_code", calls, server, args, c)


def code_forms(codes: list[str]) -> Callable[[int], dict[str, str] | None]:
    """Forms exchanging ``codes`` one by one (None once they are used up)."""
    pending = iter(codes)

    def form(_worker: int) -> dict[str, str] | None:
        code = next(pending, None)
        if code is None:
            return None
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }

    return form


async def refresh_run(
    server: Server, web: dict[str, Any], codes: list[str], args: argparse.Namespace, c: int
) -> dict[str, Any]:
    held: list[str] = []

    def keep(_worker: int, body: dict[str, Any]) -> None:
        held.append(body["refresh_token"])

    first = TokenCalls(server, web, 1, code_forms(codes[:c]), keep)
    for _ in range(c):
        assert await first(0) is None, "could not get a refresh token"
    first.close()

    def form(worker: int) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": held[worker]}

    def rotate(worker: int, body: dict[str, Any]) -> None:
        held[worker] = body["refresh_token"]

    return await run("refresh_token", TokenCalls(server, web, c, form, rotate), server, args, c)


async def credentials_run(
    server: Server, service: dict[str, Any], args: argparse.Namespace, c: int
) -> dict[str, Any]:
    def form(_worker: int) -> dict[str, str]:
        return {"grant_type": "client_credentials"}

    return await run("client_credentials", TokenCalls(server, service, c, form), server, args, c)


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    env["PORTVAKT_DATA_DIR"] = str(data_dir)
    info = machine()
    print(f"Machine: {info['nproc']} CPUs, Python {info['python']}, portvakt {info['portvakt']}")
    warn_if_busy(info)
    people = make_users(args.users, workdir / "users.csv", totp=False)
    import_users(workdir / "users.csv", env, quiet=True)
    web = add_client(env, "Bench portal")
    service = add_client(env, "Bench service", "--client-credentials")
    print(f"{len(people):,} users, two apps; codes minted per run: {args.codes:,}")
    server = Server(env, workdir / "server.log", args.server_log_level)
    results: list[dict[str, Any]] = []
    try:
        server.wait_ready()
        if args.pid_file is not None:
            args.pid_file.write_text(str(server.pid))

        async def all_steps() -> None:
            for c in args.concurrency:
                if "authorization_code" in args.grants:
                    codes = mint(data_dir, web, args)
                    results.append(await code_run(server, web, codes, args, c))
                if "refresh_token" in args.grants:
                    codes = mint(data_dir, web, args, count=c)
                    results.append(await refresh_run(server, web, codes, args, c))
                if "client_credentials" in args.grants:
                    results.append(await credentials_run(server, service, args, c))

        run_async(all_steps())
    finally:
        server.stop()
    return {
        "machine": info,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "duration_s": args.duration,
        "results": results,
    }


def mint(
    data_dir: Path, web: dict[str, Any], args: argparse.Namespace, *, count: int | None = None
) -> list[str]:
    started = time.perf_counter()
    codes = mint_codes(data_dir, web["client_id"], args.codes if count is None else count)
    print(f"  (minted {len(codes):,} codes in {time.perf_counter() - started:.1f} s)", flush=True)
    return codes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_options(parser, users=2_000, warmup=2.0)
    parser.add_argument("--codes", type=int, default=30_000, help="codes minted per code run")
    parser.add_argument(
        "--grants", nargs="+", choices=GRANTS, default=list(GRANTS), help="the grants to measure"
    )
    add_output_options(parser, pid_help="write the server's pid here (profiling)")
    return parser.parse_args()


def main() -> None:
    run_in_workdir(parse_args(), run_all, "token")


if __name__ == "__main__":
    main()
