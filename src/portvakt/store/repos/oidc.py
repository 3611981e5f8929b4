"""The statements of the token endpoint, UserInfo, introspection and revocation.

Each exchange is a few statements in one write transaction: the calling client with the
caller's failure counter, the grant (by code hash) or the token (by hash) joined with its
grant and the person, a compare-and-set that spends the code or refresh token, the new token
rows and the audit row. They are built once as Core, with bound parameters, and run through
``Prepared`` on the DBAPI cursor (no ORM unit of work, no identity map): the validate API's
recipe (bench/README.md, "oidc_tokens.py").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from portvakt.store.models import OidcClient, OidcGrant, OidcToken, RateCounter, User
from portvakt.store.prepared import Prepared, Row
from portvakt.store.repos.oidc_clients import ClientRow

_client = cast(Table, OidcClient.__table__)
_grant = cast(Table, OidcGrant.__table__)
_token = cast(Table, OidcToken.__table__)
_user = cast(Table, User.__table__)
_rate = cast(Table, RateCounter.__table__)

CLIENT_COLUMNS = tuple(column.key for column in _client.c)


@dataclass(frozen=True, slots=True)
class StoredClient:
    """The calling client as stored (every ``oidc_client`` column, in table order; None when
    there is no such client) and the caller's failure counter: (count, window start)."""

    columns: tuple[Any, ...] | None
    counter: tuple[int, datetime] | None

    def row(self) -> ClientRow | None:
        """The row as a ``ClientRow``, for ``clients.view``."""
        if self.columns is None:
            return None
        return ClientRow(**dict(zip(CLIENT_COLUMNS, self.columns, strict=True)))


@dataclass(frozen=True, slots=True)
class Person:
    """What tokens say about the person a grant is for."""

    user_id: int
    subject: str
    username: str
    display_name: str
    email: str | None
    phone: str | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class Grant:
    id: int
    client_pk: int
    user_id: int | None
    session_id: str | None
    scope: str
    nonce: str | None
    auth_time: datetime | None
    acr: str | None
    amr: tuple[str, ...]
    code_expires_at: datetime | None
    code_used_at: datetime | None
    redirect_uri: str | None
    code_challenge: str | None
    expires_at: datetime
    revoked_at: datetime | None
    person: Person | None  # None: no person (client credentials), or the account is gone


@dataclass(frozen=True, slots=True)
class Token:
    id: str  # sha256 of the token
    kind: str  # "access" | "refresh"
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked: bool
    grant: Grant
    own_scope: str | None  # an access token's narrower scope; None: the grant's

    @property
    def scope(self) -> str:
        return self.own_scope if self.own_scope is not None else self.grant.scope


def _counter(column: str) -> Any:
    return select(_rate.c[column]).where(_rate.c.key == bindparam("rate_key")).scalar_subquery()


_CLIENT = Prepared(
    select(
        *_client.c,
        _counter("count").label("rate_count"),
        _counter("window_start").label("rate_window_start"),
    ).where(_client.c.client_id == bindparam("client_id"))
)
_COUNTER = Prepared(
    select(_rate.c.count, _rate.c.window_start).where(_rate.c.key == bindparam("rate_key"))
)
_GRANT_COLUMNS = tuple(c for c in _grant.c if c.key not in {"code_hash", "created_at"})
_PERSON_COLUMNS = (
    _user.c.id.label("person_id"),
    _user.c.subject.label("person_subject"),
    _user.c.username.label("person_username"),
    _user.c.display_name.label("person_display_name"),
    _user.c.email.label("person_email"),
    _user.c.phone.label("person_phone"),
    _user.c.disabled.label("person_disabled"),
)
_with_person = _grant.outerjoin(_user, _user.c.id == _grant.c.user_id)
_BY_CODE = Prepared(
    select(*_GRANT_COLUMNS, *_PERSON_COLUMNS)
    .select_from(_with_person)
    .where(_grant.c.code_hash == bindparam("code_hash"))
)
_BY_TOKEN = Prepared(
    select(
        _token.c.kind.label("token_kind"),
        _token.c.created_at.label("token_created_at"),
        _token.c.expires_at.label("token_expires_at"),
        _token.c.used_at.label("token_used_at"),
        _token.c.revoked.label("token_revoked"),
        _token.c.scope.label("token_scope"),
        *_GRANT_COLUMNS,
        *_PERSON_COLUMNS,
    )
    .select_from(_token.join(_with_person, _grant.c.id == _token.c.grant_id))
    .where(_token.c.id == bindparam("token_id"))
)
_CLAIM_CODE = Prepared(
    update(_grant)
    .where(_grant.c.id == bindparam("grant_id"), _grant.c.code_used_at.is_(None))
    .values(code_used_at=bindparam("now"))
)
_CLAIM_REFRESH = Prepared(
    update(_token)
    .where(_token.c.id == bindparam("token_id"), _token.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_REVOKE_GRANT = Prepared(
    update(_grant)
    .where(_grant.c.id == bindparam("grant_id"), _grant.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)
_REVOKE_TOKEN = Prepared(
    update(_token).where(_token.c.id == bindparam("token_id")).values(revoked=True)
)
_EXTEND_GRANT = Prepared(
    update(_grant)
    .where(_grant.c.id == bindparam("grant_id"), _grant.c.expires_at < bindparam("until"))
    .values(expires_at=bindparam("until"))
)
_ADD_TOKEN = Prepared(
    insert(_token).values({column.key: bindparam(column.key) for column in _token.c}).inline()
)
_ADD_CLIENT_GRANT = Prepared(
    insert(_grant)
    .values(
        {
            **{column.key: None for column in _grant.c if column.key != "id"},
            "client_pk": bindparam("client_pk"),
            "scope": bindparam("scope"),
            "amr": [],
            "created_at": bindparam("now"),
            "expires_at": bindparam("expires_at"),
        }
    )
    .returning(_grant.c.id)
)


def client(session: Session, client_id: str | None, *, rate_key: str) -> StoredClient:
    """The client called ``client_id`` (None: nobody) and the counter ``rate_key``."""
    if client_id is not None:
        row = _CLIENT.first(session, {"client_id": client_id, "rate_key": rate_key})
        if row is not None:
            count, started = row[-2:]
            return StoredClient(row[:-2], None if count is None else (count, started))
    found = _COUNTER.first(session, {"rate_key": rate_key})
    return StoredClient(None, None if found is None else (found[0], found[1]))


def grant_by_code(session: Session, code_hash: str) -> Grant | None:
    row = _BY_CODE.first(session, {"code_hash": code_hash})
    return None if row is None else _grant_of(row, _BY_CODE.index)


def token(session: Session, token_id: str) -> Token | None:
    """The token with this hash, its grant and the grant's person."""
    row = _BY_TOKEN.first(session, {"token_id": token_id})
    if row is None:
        return None
    at = _BY_TOKEN.index
    return Token(
        id=token_id,
        kind=row[at["token_kind"]],
        created_at=row[at["token_created_at"]],
        expires_at=row[at["token_expires_at"]],
        used_at=row[at["token_used_at"]],
        revoked=bool(row[at["token_revoked"]]),
        grant=_grant_of(row, at),
        own_scope=row[at["token_scope"]],
    )


def claim_code(session: Session, grant_id: int, *, now: datetime) -> bool:
    """Spend the grant's code if it is still unspent, atomically: of two concurrent
    exchanges of one code only one gets True."""
    return _CLAIM_CODE.execute(session, {"grant_id": grant_id, "now": now}) == 1


def claim_refresh(session: Session, token_id: str, *, now: datetime) -> bool:
    """Spend a refresh token if it is still unspent (as ``claim_code``)."""
    return _CLAIM_REFRESH.execute(session, {"token_id": token_id, "now": now}) == 1


def revoke_grant(session: Session, grant_id: int, *, now: datetime) -> None:
    """Every token of the grant stops working (the first revocation's time is kept)."""
    _REVOKE_GRANT.execute(session, {"grant_id": grant_id, "now": now})


def revoke_token(session: Session, token_id: str) -> None:
    _REVOKE_TOKEN.execute(session, {"token_id": token_id})


def extend_grant(session: Session, grant_id: int, *, until: datetime) -> None:
    """The grant lives at least ``until`` (as long as its longest-lived token)."""
    _EXTEND_GRANT.execute(session, {"grant_id": grant_id, "until": until})


def add_token(  # noqa: PLR0913 - one per column
    session: Session,
    token_id: str,
    *,
    grant_id: int,
    kind: str,
    now: datetime,
    expires_at: datetime,
    scope: str | None = None,
) -> None:
    _ADD_TOKEN.execute(
        session,
        {
            "id": token_id,
            "grant_id": grant_id,
            "kind": kind,
            "created_at": now,
            "expires_at": expires_at,
            "used_at": None,
            "revoked": False,
            "scope": scope,
        },
    )


def add_client_grant(
    session: Session, client_pk: int, *, scope: str, now: datetime, expires_at: datetime
) -> int:
    """A client-credentials grant (no person, no code); its id."""
    params = {"client_pk": client_pk, "scope": scope, "now": now, "expires_at": expires_at}
    return int(_ADD_CLIENT_GRANT.scalar(session, params))


def _grant_of(row: Row, at: Mapping[str, int]) -> Grant:
    person_id = row[at["person_id"]]
    person = None
    if person_id is not None:
        person = Person(
            user_id=person_id,
            subject=row[at["person_subject"]],
            username=row[at["person_username"]],
            display_name=row[at["person_display_name"]],
            email=row[at["person_email"]],
            phone=row[at["person_phone"]],
            disabled=bool(row[at["person_disabled"]]),
        )
    return Grant(
        id=row[at["id"]],
        client_pk=row[at["client_pk"]],
        user_id=row[at["user_id"]],
        session_id=row[at["session_id"]],
        scope=row[at["scope"]],
        nonce=row[at["nonce"]],
        auth_time=row[at["auth_time"]],
        acr=row[at["acr"]],
        amr=tuple(row[at["amr"]] or ()),
        code_expires_at=row[at["code_expires_at"]],
        code_used_at=row[at["code_used_at"]],
        redirect_uri=row[at["redirect_uri"]],
        code_challenge=row[at["code_challenge"]],
        expires_at=row[at["expires_at"]],
        revoked_at=row[at["revoked_at"]],
        person=person,
    )
