"""The floor for ``validate.py``: a bare Starlette app with one endpoint that does the least a
code check must do, under uvicorn with the settings ``portvakt serve`` uses.

    .venv/bin/python bench/_bare_validate.py --port 8001 --users users.csv --key pvk_…

``POST /api/v1/validate`` checks the bearer key (one constant-time compare), parses the same
JSON body as the validate API (``{"username": …, "code": …}``), looks the user's seed up in a
dict read from the benchmark's import file, computes the current TOTP with pyotp, compares it,
and answers ``{"status": "accept"}`` or ``{"status": "reject"}``. No database, no replay
state, no audit, no lockout: what is left is the HTTP server, routing, JSON and one HMAC.
"""

from __future__ import annotations

import argparse
import csv
import hmac
import json
from pathlib import Path

import pyotp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def make_app(seeds: dict[str, str], key: str) -> Starlette:
    expected = f"Bearer {key}".encode()
    totps = {name: pyotp.TOTP(seed) for name, seed in seeds.items()}

    async def validate(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            body = json.loads(await request.body())
            username, code = body["username"], body["code"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        totp = totps.get(username) if isinstance(username, str) else None
        ok = totp is not None and isinstance(code, str) and hmac.compare_digest(totp.now(), code)
        return JSONResponse({"status": "accept" if ok else "reject"})

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/api/v1/validate", validate, methods=["POST"]),
            Route("/healthz", health),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=Path, required=True, help="the import file (CSV)")
    parser.add_argument("--key", required=True, help="the bearer key to accept")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    with args.users.open(newline="", encoding="utf-8") as handle:
        seeds = {row["username"]: row["totp_secret"] for row in csv.DictReader(handle)}
    # The same uvicorn settings as ``portvakt serve`` (src/portvakt/cli/serve.py).
    uvicorn.run(
        make_app(seeds, args.key),
        host="127.0.0.1",
        port=args.port,
        proxy_headers=True,
        server_header=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
