"""The app's side of the push protocol over HTTP (docs/protocol.md, "HTTP API"): register a
device, authenticate with a signed nonce, fetch pending challenges and answer them, with a
synchronous httpx client (``stream.py`` holds the event stream; ``messages.py`` the signing and
checking). A challenge whose signature does not verify with the pinned server key is never
shown as a request: it becomes a ``Dropped`` with the reason."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.protocol import ChallengeView
from portvakt_authenticator.accounts import PushAccount, new_account_id
from portvakt_authenticator.messages import (
    APP_NAME,
    Answer,
    Dropped,
    Request,
    answer_token,
    auth_token,
    check_number,
    open_challenge,
    register_token,
)

__all__ = [
    "Answer",
    "ClientError",
    "Dropped",
    "Failure",
    "Pending",
    "PushClient",
    "Request",
    "account_from_registration",
    "check_number",
    "error_of",
    "url_of",
]

AUTH_REUSE = 45  # reuse a pv-auth token this long (it may be reused within its lifetime)
TIMEOUT = 10.0


class ClientError(Exception):
    """The one exception family of the client; ``code`` is the server's error code or one of
    ``unreachable``, ``bad_response``, ``fingerprint_mismatch``, ``unsupported_version``."""

    def __init__(self, code: str, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Failure:
    """An account whose challenges could not be fetched."""

    account_id: str
    account_name: str
    code: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Pending:
    requests: tuple[Request, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    failures: tuple[Failure, ...] = ()


def account_from_registration(
    activation: protocol.Activation, key: ECKey, body: Mapping[str, Any], *, now: float
) -> PushAccount:
    """Check the register answer: the server key must have the thumbprint the QR pinned."""
    try:
        server_key = protocol.import_public(body["server_key"])
        device_id = body["device_id"]
    except (KeyError, TypeError, AttributeError, protocol.ProtocolError) as exc:
        raise ClientError("bad_response") from exc
    if not isinstance(device_id, str) or not device_id:
        raise ClientError("bad_response")
    if protocol.fingerprint(server_key) != activation.fingerprint:
        raise ClientError("fingerprint_mismatch")
    version = body.get("protocol", protocol.VERSION)
    if not isinstance(version, int) or version not in protocol.SUPPORTED_VERSIONS:
        raise ClientError("unsupported_version")
    capabilities = body.get("capabilities")
    if not isinstance(capabilities, list):
        capabilities = []
    return PushAccount(
        id=new_account_id(),
        server=activation.server,
        device_id=device_id,
        account=str(body.get("account") or activation.account),
        issuer=str(body.get("issuer") or activation.issuer),
        device_key=key.as_dict(private=True),
        server_key=protocol.public_jwk(server_key),
        capabilities=tuple(str(c) for c in capabilities if isinstance(c, str)),
        created=int(now),
    )


def error_of(response: httpx.Response) -> ClientError:
    """``{"error", "message"}`` of a 4xx answer as a ``ClientError`` (the body must be read)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        message = data.get("message")
        return ClientError(
            data["error"], message if isinstance(message, str) else "", status=response.status_code
        )
    code = "server_error" if response.status_code >= 500 else "bad_response"
    return ClientError(code, f"HTTP {response.status_code}", status=response.status_code)


def url_of(account_server: str, name: str) -> str:
    return account_server.rstrip("/") + protocol.APP_PATHS[name]


# -- the synchronous client ------------------------------------------------------------------


class PushClient:
    def __init__(self, *, transport: httpx.BaseTransport | None = None, timeout: float = TIMEOUT):
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": APP_NAME, "Accept": "application/json"},
        )
        self._auth: dict[str, tuple[str, float]] = {}

    def __enter__(self) -> PushClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError("unreachable", str(exc)) from exc
        if not response.is_success:
            raise error_of(response)
        try:
            data = response.json()
        except ValueError as exc:
            raise ClientError("bad_response") from exc
        if not isinstance(data, dict):
            raise ClientError("bad_response")
        return data

    def register(self, activation: protocol.Activation, *, device_name: str) -> PushAccount:
        """Generate the device key, register it with the activation code and pin the server
        key; ``ClientError("fingerprint_mismatch")`` if the server's key is not the QR's."""
        key = protocol.generate_key()
        token = register_token(key, activation, device_name=device_name)
        body = self._call("POST", url_of(activation.server, "register"), json={"token": token})
        return account_from_registration(activation, key, body, now=time.time())

    def authorization(self, account: PushAccount) -> str:
        cached = self._auth.get(account.id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        body = self._call("GET", url_of(account.server, "nonce"))
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise ClientError("bad_response")
        header = f"{protocol.AUTH_SCHEME} {auth_token(account, nonce)}"
        self._auth[account.id] = (header, time.monotonic() + AUTH_REUSE)
        return header

    def challenges(self, account: PushAccount) -> Pending:
        headers = {"Authorization": self.authorization(account)}
        body = self._call("GET", url_of(account.server, "challenges"), headers=headers)
        tokens = body.get("challenges")
        if not isinstance(tokens, list):
            raise ClientError("bad_response")
        requests: list[Request] = []
        dropped: list[Dropped] = []
        for token in tokens:
            try:
                requests.append(open_challenge(account, str(token)))
            except protocol.ProtocolError as exc:
                dropped.append(Dropped(account.id, account.name, exc.code))
        return Pending(requests=tuple(requests), dropped=tuple(dropped))

    def pending(self, accounts: Sequence[PushAccount]) -> Pending:
        """Every push account's pending challenges; an account that fails is a ``Failure``."""
        requests: list[Request] = []
        dropped: list[Dropped] = []
        failures: list[Failure] = []
        for account in accounts:
            try:
                found = self.challenges(account)
            except ClientError as exc:
                failures.append(Failure(account.id, account.name, exc.code, exc.message))
                continue
            requests.extend(found.requests)
            dropped.extend(found.dropped)
        return Pending(tuple(requests), tuple(dropped), tuple(failures))

    def answer(self, account: PushAccount, view: ChallengeView, answer: Answer) -> str:
        """POST the signed answer; the server's new state (``approved`` or ``denied``)."""
        token = answer_token(account, view, answer)
        body = self._call("POST", url_of(account.server, "answers"), json={"token": token})
        state = body.get("state")
        if not isinstance(state, str):
            raise ClientError("bad_response")
        return state
