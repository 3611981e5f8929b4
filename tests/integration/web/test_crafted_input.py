"""No crafted request makes a 500 (issue 9, item 5; SECURITY.md FT-9, WA-08's "malformed
input → 400"). Every route of the app API, the validate API and the OpenID Connect endpoints,
enumerated from the app's own routes (a new one is walked without a change here), is sent its
usual request with one value at a time replaced by a crafted one: identifiers that only look
like numbers ("²", 40 digits, -1), values of the wrong JSON type, NUL, over-long values, and
for the app API the same inside signed messages. On SQLite and PostgreSQL:

* a request that carries NUL answers 400;
* every other answer is a 4xx, or the answer the route gives its uncrafted request (an
  ignored or acceptable value changes nothing);
* nothing is logged at ERROR (no traceback)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.app import Runtime
from portvakt.core import devices, enrollment, integrations
from portvakt.domain import Door, UserRef
from tests.integration.oidc import helpers
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import ISSUER, App
from tests.integration.push.simapp import SimApp

db_url = helpers.db_url
runtime = helpers.runtime

WALKED = ("/api/", "/oauth2/", "/.well-known/")
IDENTIFIERS = ["²", "1" * 40, "-1", "٣", "0", "9" * 11]
NULS = ["\x00", "ab\x00cd"]
LONG = ["x" * 5000]
STRINGS = IDENTIFIERS + NULS + LONG
WRONG_TYPES: list[object] = [["a"], {"a": "b"}, 5, None, 1.5]
GENERIC_FIELDS = ("client_id", "redirect_uri", "state", "nonce", "token", "code", "username")
SSE = "text/event-stream"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """No address budget: thousands of bad client logins must keep reaching the lookups."""
    return {"public_url": ISSUER, "code_failures_per_ip": 10**9}


@dataclass
class Env:
    """What the usual requests need: an app, an integration key, a registered device."""

    client: TestClient
    app: App
    key: str
    device: SimApp
    activation_tx: str
    register_code: str


@dataclass(frozen=True)
class Outcome:
    """One crafted request: what it was, its status, and what was expected: "400", "4xx|S"
    (a 4xx, or the route's usual status S), or "any" (anything but a 5xx)."""

    what: str
    status: int
    expected: str


def _env(runtime: Runtime, client: TestClient, alice: UserRef) -> Env:
    app = register(runtime)
    ctx = runtime.context(Door.CLI, actor="test")
    _view, key = integrations.add(runtime.core, ctx, "vpn")
    web = runtime.context(Door.WEB, base_url=ISSUER)
    credential_id = enrollment.begin(runtime.core, web, user_id=alice.id, kind="push")
    shown = devices.enrollment_display(
        runtime.core, web, user_id=alice.id, credential_id=credential_id
    )
    uri = shown.display["uri"]
    assert uri is not None
    register_code = protocol.Activation.parse(uri).code
    device = SimApp(client, runtime.clock)
    answer = device.register(uri)
    assert answer.status_code == 201, answer.text
    return Env(client, app, key, device, answer.json().get("tx", ""), register_code)


def _jws(key: ECKey, claims: dict[str, Any]) -> str:
    header = {"alg": protocol.ALGORITHM, "typ": "JWT", "kid": protocol.fingerprint(key)}
    return jwt.encode(header, claims, key, algorithms=[protocol.ALGORITHM])


def _claims(env: Env, typ: protocol.MessageType, **claims: Any) -> dict[str, Any]:
    now = int(env.device.clock.now().timestamp())
    base = {"typ": typ.value, "v": 1, "iat": now, "exp": now + 60, "jti": protocol.new_id()}
    return {**base, "aud": env.device.server, **claims}


def _usual_tokens(env: Env) -> dict[str, tuple[ECKey, dict[str, Any]]]:
    """The claims of the app's messages, signed by their usual key."""
    stranger = protocol.generate_key()
    nonce = env.client.get("/api/app/v1/nonce").json()["nonce"]
    return {
        "auth": (
            env.device.key,
            _claims(env, protocol.MessageType.AUTH, iss=env.device.device_id, nonce=nonce),
        ),
        "answer": (
            env.device.key,
            _claims(
                env,
                protocol.MessageType.ANSWER,
                iss=env.device.device_id,
                tx=env.activation_tx,
                nonce="n" * 22,
                consent="approve",
                number="00",
            ),
        ),
        "register": (
            stranger,
            _claims(
                env,
                protocol.MessageType.REGISTER,
                iss=protocol.fingerprint(stranger),
                code=env.register_code,
                jwk=protocol.public_jwk(stranger),
                device={"name": "phone"},
                capabilities=["uv"],
            ),
        ),
    }


def _crafted_tokens(env: Env) -> Iterator[tuple[str, str]]:
    """(description, token): each usual message with one claim replaced (or added)."""
    extra = {"auth": (), "answer": ("uv", "reason"), "register": ()}
    for kind, (key, claims) in _usual_tokens(env).items():
        names = [*claims, *extra[kind]]
        if kind == "auth":  # an accepted auth opens the event stream: only break what it checks
            names = ["iss", "aud", "nonce", "typ", "v", "iat", "exp"]
        values = [*STRINGS, *WRONG_TYPES] if kind != "auth" else [*STRINGS, *WRONG_TYPES[:4]]
        for name in names:
            for value in values:
                yield f"{kind}.{name}={value!r:.30}", _jws(key, {**claims, name: value})


def _baselines(env: Env) -> dict[str, dict[str, Any]]:
    app = env.app
    client_auth = {"client_id": app.client_id, "client_secret": app.secret}
    tokens = _usual_tokens(env)
    return {
        "/oauth2/authorize": app.params(
            max_age="600",
            login_hint="alice",
            ui_locales="nb",
            acr_values="",
            id_token_hint="",
            prompt="consent",
            response_mode="query",
        ),
        "/oauth2/logout": {
            "client_id": app.client_id,
            "post_logout_redirect_uri": "https://portal.example.org/",
            "state": "s",
        },
        "/oauth2/token": {
            "grant_type": "authorization_code",
            "code": "c" * 43,
            "redirect_uri": app.redirect_uri,
            "code_verifier": app.verifier,
            **client_auth,
        },
        "/oauth2/introspect": {"token": "t" * 43, **client_auth},
        "/oauth2/revoke": {"token": "t" * 43, **client_auth},
        "/oauth2/userinfo": {"access_token": "t" * 43},
        "/api/v1/validate": {"username": "alice", "code": "123456"},
        "/api/app/v1/register": {"token": _jws(*tokens["register"])},
        "/api/app/v1/answers": {"token": _jws(*tokens["answer"])},
    }


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if route.path and route.path.startswith(WALKED):
            found |= {(method, route.path) for method in (route.methods or set()) - {"HEAD"}}
    return sorted(found)


def _call(client: TestClient, method: str, url: str, **kwargs: Any) -> int:
    """The status; a stream is closed once it has started (its status is the answer)."""
    with client.stream(method, url, **kwargs) as response:
        if not response.headers.get("content-type", "").startswith(SSE):
            response.read()
        return response.status_code


def _send(
    env: Env, method: str, path: str, values: dict[str, Any], *, headers: dict[str, str]
) -> int:
    """``values`` as the route's usual encoding: JSON for the API, else query (GET) or form."""
    if method == "GET":
        pairs = [(k, x) for k, v in values.items() for x in (v if isinstance(v, list) else [v])]
        query = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in pairs if v is not None)
        return _call(env.client, method, f"{path}?{query}" if query else path, headers=headers)
    if path.startswith("/api/"):
        return _call(env.client, method, path, json=values, headers=headers)
    form = {k: v if isinstance(v, list) else str(v) for k, v in values.items() if v is not None}
    return _call(env.client, method, path, data=form, headers=headers)


def _headers(env: Env, path: str) -> dict[str, str]:
    return {"authorization": f"Bearer {env.key}"} if path.startswith("/api/v1/") else {}


def _path_for(template: str, value: str) -> str:
    """``template`` with every ``{param}`` set to ``value``."""
    out, rest = "", template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        _name, _, rest = tail.partition("}")
        out += head + quote(value, safe="")
    return out + rest


def _walk_route(env: Env, method: str, path: str, usual: dict[str, Any]) -> Iterator[Outcome]:
    headers = _headers(env, path)
    target = _path_for(path, "abcdefgh")
    baseline = _send(env, method, target, usual, headers=headers)
    yield Outcome(f"{method} {path} usual", baseline, "any")
    json_api = path.startswith("/api/") and method != "GET"
    names = list(usual) or list(GENERIC_FIELDS)
    for name in [*names, "unknown_field"]:
        # lists: a JSON array where a string belongs; in a query or form, a repeated field
        for value in [*STRINGS, *(WRONG_TYPES if json_api else [[STRINGS[0], STRINGS[0]]])]:
            status = _send(env, method, target, {**usual, name: value}, headers=headers)
            yield Outcome(f"{method} {path} {name}={value!r:.30}", status, _want(value, baseline))
    for value in STRINGS:
        if "{" in path:
            status = _send(env, method, _path_for(path, value), usual, headers=headers)
            yield Outcome(f"{method} {path} path={value!r:.30}", status, _want(value, baseline))
    query = f"{target}?x={quote(NULS[1])}"
    status = _call(env.client, method, query, headers=headers)
    yield Outcome(f"{method} {path} query NUL", status, "400")


def _want(value: object, baseline: int) -> str:
    return "400" if "\x00" in str(value) else f"4xx|{baseline}"


def _walk_headers(env: Env, method: str, path: str) -> Iterator[Outcome]:
    """Crafted credentials in ``Authorization``: Basic (decoded to NUL, over-long, ids),
    Bearer, and the app's signed device messages."""
    target = _path_for(path, "abcdefgh")
    baseline = _call(env.client, method, target)
    for value in [*IDENTIFIERS, "%00", "a%00b", "x" * 5000]:
        for credentials in (f"{value}:secret", f"client:{value}"):
            basic = "Basic " + base64.b64encode(credentials.encode()).decode()
            status = _call(env.client, method, target, headers={"authorization": basic})
            yield Outcome(f"{method} {path} Basic {credentials:.30}", status, f"4xx|{baseline}")
        bearer = {"authorization": f"Bearer {value}".encode()}
        status = _call(env.client, method, target, headers=bearer)
        yield Outcome(f"{method} {path} Bearer {value:.30}", status, f"4xx|{baseline}")
    if path.startswith("/api/app/"):
        for what, token in _crafted_tokens(env):
            scheme = {"authorization": f"{protocol.AUTH_SCHEME} {token}"}
            status = _call(env.client, method, target, headers=scheme)
            yield Outcome(f"{method} {path} header {what}", status, f"4xx|{baseline}")
            if method == "POST":
                status = _call(env.client, method, target, json={"token": token})
                yield Outcome(f"{method} {path} body {what}", status, "4xx")


def _fits(outcome: Outcome) -> bool:
    if outcome.status >= 500:
        return False
    if outcome.expected == "400":
        return outcome.status == 400
    if outcome.expected.startswith("4xx"):
        allowed = outcome.expected.partition("|")[2]
        return 400 <= outcome.status < 500 or str(outcome.status) == allowed
    return True


@pytest.mark.parametrize("family", ["/api/", "/oauth2/ /.well-known/"])
def test_crafted_input_gets_4xx_on_every_machine_and_oidc_route(
    runtime: Runtime,
    client: TestClient,
    alice: UserRef,
    caplog: pytest.LogCaptureFixture,
    family: str,
) -> None:
    """Issue 9 item 5 / FT-9: crafted identifiers, wrong JSON types, NUL and over-long values
    never make a 500 or a traceback, on every route of the family, on both databases."""
    env = _env(runtime, client, alice)
    helpers.open_session(runtime, client, alice)  # authorization goes as far as a code
    usual = _baselines(env)
    routes = [(m, p) for m, p in _routes(client) if p.startswith(tuple(family.split()))]
    assert len(routes) >= 5, routes
    caplog.set_level(logging.ERROR)
    outcomes = [
        outcome
        for method, path in routes
        for walk in (
            _walk_route(env, method, path, usual.get(path, {})),
            _walk_headers(env, method, path),
        )
        for outcome in walk
    ]
    bad = [outcome for outcome in outcomes if not _fits(outcome)]
    assert bad == [], f"{len(bad)} of {len(outcomes)}: {bad[:40]}"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_walk_covers_the_app_api_and_the_oidc_endpoints(client: TestClient) -> None:
    """The enumeration finds what it must: a route added under these prefixes is walked."""
    walked = {path for _method, path in _routes(client)}
    assert {
        *protocol.APP_PATHS.values(),
        "/api/v1/validate",
        "/api/v1/validate/{transaction_id}",
        "/oauth2/authorize",
        "/oauth2/token",
        "/oauth2/introspect",
        "/oauth2/revoke",
        "/oauth2/userinfo",
        "/oauth2/logout",
        "/.well-known/openid-configuration",
    } <= walked
