"""What the app keeps: code-generator accounts (TOTP, RFC 6238; HOTP, RFC 4226) added from an
``otpauth://`` URI, and push accounts registered from a ``portvakt://activate`` URI
(docs/protocol.md). Pure: no I/O."""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.crypto import otp

MIN_SECRET_BYTES = 10  # 80 bits, as older tokens and many services still issue


class AccountKind(enum.StrEnum):
    TOTP = "totp"
    HOTP = "hotp"
    PUSH = "push"


class UriError(Exception):
    """A URI the app cannot use; ``code`` says why (shown through ``display.describe``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class LookupFailed(Exception):
    """No account, or more than one, matches what the person typed."""

    def __init__(self, code: str, matches: Sequence[Account] = ()) -> None:
        super().__init__(code)
        self.code = code  # "not_found" or "ambiguous"
        self.matches = tuple(matches)


def new_account_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class OtpAccount:
    id: str
    kind: AccountKind  # TOTP or HOTP
    issuer: str
    label: str
    secret: str  # base32, no padding
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30  # TOTP only
    counter: int = 0  # HOTP only: the counter of the next code
    created: int = 0

    @property
    def name(self) -> str:
        return f"{self.issuer}: {self.label}" if self.issuer else self.label

    @property
    def params(self) -> otp.OtpParams:
        period = self.period if self.kind is AccountKind.TOTP else 30
        return otp.OtpParams(algorithm=self.algorithm, digits=self.digits, period=period)

    def totp(self, now: float) -> tuple[str, int]:
        """RFC 6238 §4: the current code and the seconds it stays valid."""
        code = otp.totp(otp.b32decode(self.secret), now, self.params)
        return code, self.period - int(now) % self.period

    def hotp(self) -> str:
        """RFC 4226 §5.3: the code of the current counter (the caller moves the counter on)."""
        return otp.hotp(otp.b32decode(self.secret), self.counter, self.params)


@dataclass(frozen=True, slots=True)
class PushAccount:
    id: str
    server: str  # the server URL: aud of what the app sends, iss of what it receives
    device_id: str
    account: str
    issuer: str
    device_key: Mapping[str, Any]  # the private P-256 JWK; never leaves this file
    server_key: Mapping[str, Any]  # the pinned public JWK of the server
    capabilities: tuple[str, ...] = ()
    created: int = 0

    @property
    def kind(self) -> AccountKind:
        return AccountKind.PUSH

    @property
    def label(self) -> str:
        return self.account

    @property
    def name(self) -> str:
        return f"{self.issuer}: {self.account}" if self.issuer else self.account

    def key(self) -> ECKey:
        return ECKey.import_key(dict(self.device_key))

    def server_public(self) -> ECKey:
        return protocol.import_public(self.server_key)


Account = OtpAccount | PushAccount


# -- otpauth:// (Key Uri Format) ---------------------------------------------------------------


def parse_otpauth(uri: str, *, now: float | None = None) -> OtpAccount:
    """``otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`` or
    ``otpauth://hotp/…&counter=…``. Parameters must be ones the Portvakt server also allows."""
    parsed = urlparse(uri.strip())
    if parsed.scheme.lower() != "otpauth":
        raise UriError("not_a_uri")
    try:
        kind = AccountKind(parsed.netloc.lower())
    except ValueError as exc:
        raise UriError("unsupported_type") from exc
    if kind is AccountKind.PUSH:
        raise UriError("unsupported_type")
    query = {k.lower(): v[0] for k, v in parse_qs(parsed.query).items()}
    label = unquote(parsed.path.lstrip("/")).strip()
    issuer = query.get("issuer", "").strip()
    if ":" in label:
        prefix, label = (part.strip() for part in label.split(":", 1))
        issuer = issuer or prefix
    if not query.get("secret"):
        raise UriError("missing_secret")
    try:
        raw = otp.b32decode(query["secret"])
    except ValueError as exc:
        raise UriError("bad_secret") from exc
    if len(raw) < MIN_SECRET_BYTES:
        raise UriError("short_secret")
    secret = otp.b32(raw)
    try:
        account = OtpAccount(
            id=new_account_id(),
            kind=kind,
            issuer=issuer,
            label=label or issuer,
            secret=secret,
            algorithm=query.get("algorithm", "SHA1").upper(),
            digits=int(query.get("digits", "6")),
            period=int(query.get("period", "30")),
            counter=int(query.get("counter", "0")),
            created=int(time.time() if now is None else now),
        )
        account.params  # noqa: B018 - OtpParams checks algorithm, digits and period
    except ValueError as exc:
        raise UriError("unsupported_parameters") from exc
    if account.counter < 0 or not (account.label or account.issuer):
        raise UriError("unsupported_parameters")
    return account


def parse_uri(text: str) -> protocol.Activation | OtpAccount:
    """An activation URI (push) or an otpauth URI (codes); ``UriError`` for anything else."""
    scheme = urlparse(text.strip()).scheme.lower()
    if scheme == protocol.URI_SCHEME:
        try:
            return protocol.Activation.parse(text)
        except protocol.ProtocolError as exc:
            raise UriError(exc.code) from exc
    if scheme == "otpauth":
        return parse_otpauth(text)
    raise UriError("not_a_uri")


# -- the JSON form in accounts.json ------------------------------------------------------------


def to_dict(account: Account) -> dict[str, Any]:
    if isinstance(account, PushAccount):
        return {
            "id": account.id,
            "type": "push",
            "server": account.server,
            "device_id": account.device_id,
            "account": account.account,
            "issuer": account.issuer,
            "device_key": dict(account.device_key),
            "server_key": dict(account.server_key),
            "capabilities": list(account.capabilities),
            "created": account.created,
        }
    data: dict[str, Any] = {
        "id": account.id,
        "type": account.kind.value,
        "issuer": account.issuer,
        "label": account.label,
        "secret": account.secret,
        "algorithm": account.algorithm,
        "digits": account.digits,
        "created": account.created,
    }
    if account.kind is AccountKind.TOTP:
        data["period"] = account.period
    else:
        data["counter"] = account.counter
    return data


def from_dict(data: Mapping[str, Any]) -> Account:
    """One entry of ``accounts``; ``ValueError`` if it is not a well-formed account."""
    try:
        kind = AccountKind(data["type"])
        if kind is AccountKind.PUSH:
            push = PushAccount(
                id=str(data["id"]),
                server=str(data["server"]),
                device_id=str(data["device_id"]),
                account=str(data.get("account", "")),
                issuer=str(data.get("issuer", "")),
                device_key=dict(data["device_key"]),
                server_key=dict(data["server_key"]),
                capabilities=tuple(str(c) for c in data.get("capabilities", ())),
                created=int(data.get("created", 0)),
            )
            push.key()
            push.server_public()
            return push
        account = OtpAccount(
            id=str(data["id"]),
            kind=kind,
            issuer=str(data.get("issuer", "")),
            label=str(data.get("label", "")),
            secret=_secret(str(data["secret"])),
            algorithm=str(data.get("algorithm", "SHA1")),
            digits=int(data.get("digits", 6)),
            period=int(data.get("period", 30)),
            counter=int(data.get("counter", 0)),
            created=int(data.get("created", 0)),
        )
        account.params  # noqa: B018 - validates
        return account
    except (KeyError, TypeError, ValueError, JoseError, protocol.ProtocolError) as exc:
        raise ValueError("bad account entry") from exc


def _secret(text: str) -> str:
    raw = otp.b32decode(text)
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError("secret too short")
    return otp.b32(raw)


def find(accounts: Sequence[Account], query: str) -> Account:
    """The one account whose id, name, label or issuer is ``query`` (case ignored); an exact
    id always wins."""
    wanted = query.strip().casefold()
    for account in accounts:
        if account.id.casefold() == wanted:
            return account
    matches = [a for a in accounts if wanted in _names(a)]
    if not matches:
        raise LookupFailed("not_found")
    if len(matches) > 1:
        raise LookupFailed("ambiguous", matches)
    return matches[0]


def _names(account: Account) -> set[str]:
    names = {account.name, account.label, account.issuer, f"{account.issuer}:{account.label}"}
    return {name.casefold() for name in names if name and name != ":"}
