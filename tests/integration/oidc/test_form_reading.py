"""``common.parse_form`` reads a urlencoded body exactly as Starlette's form parser (which it
replaced on the machine endpoints for speed), down to its quirks; too many fields is an
``invalid_request``, as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import Headers
from starlette.formparsers import FormParser

from portvakt.web.oidc import common
from tests.integration.oidc import helpers
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

BODIES = [
    b"",
    b"&",
    b"=",
    b"a=1&b=2",
    b"a=1&a=2",
    b"a",
    b"a&b=1",
    b"=1",
    b"a=",
    b"a==",
    b"a=1=2",
    b"&&a=1&&",
    b"a=1;b=2",
    b"a;b",
    b"a+b=c+d%20e%2B",
    b"a=%ZZ&b=%ff%fe&c=\xff",
    b"a=%&b=%2&c=%2g",
    b"x=\xc3\xa5&y=%C3%A5",
    b"a=b&=c&d",
    b"grant_type=refresh_token&refresh_token=abc-_~.&scope=openid+email",
    b"a=\x00&b=%00",
]


def starlette_reads(body: bytes) -> list[tuple[str, str]]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    async def parse() -> list[tuple[str, str]]:
        headers = Headers({"content-type": "application/x-www-form-urlencoded"})
        form = await FormParser(headers, stream()).parse()
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]

    return asyncio.run(parse())


@pytest.mark.parametrize("body", BODIES)
def test_reads_a_form_as_starlette_does(body: bytes) -> None:
    assert common.parse_form(body) == starlette_reads(body)


def test_too_many_fields_is_invalid_request(client: TestClient, app: App) -> None:
    body = "grant_type=client_credentials" + "&x=1" * common.MAX_FIELDS
    headers = {"content-type": "application/x-www-form-urlencoded", **app.basic()}
    answer = client.post("/oauth2/token", content=body, headers=headers)
    helpers.token_error(answer, "invalid_request")
