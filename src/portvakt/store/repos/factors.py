"""The one read a code check needs, and the one write of lock state it may make.

A person's lock state, active credentials and the caller's per-address failure counter (and,
for the validate API, whether the caller's API key still exists) come back from a single
statement (the user row joined with its active credentials, the rest as scalar subqueries), by
id or by username, with the user's row locked (``FOR UPDATE OF
user_account`` on PostgreSQL; SQLite's writers are serialised by ``BEGIN IMMEDIATE``). The
statements are built once as Core, with bound parameters, and run through ``Prepared`` on the
DBAPI cursor: no ORM objects, no identity map, no per-call execution machinery, so a code check
costs a few statements and little Python (bench/README.md, "validate.py").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from portvakt.domain import CredentialState, CredentialView, FactorLock
from portvakt.store.models import Credential, Integration, RateCounter, User
from portvakt.store.prepared import Prepared, Row

_user = cast(Table, User.__table__)
_cred = cast(Table, Credential.__table__)
_rate = cast(Table, RateCounter.__table__)
_integration = cast(Table, Integration.__table__)


@dataclass(frozen=True, slots=True)
class SealedCredential:
    """An active credential as stored: its view (without the secret) and the sealed secret."""

    view: CredentialView
    key_id: str | None
    sealed: bytes | None


@dataclass(frozen=True, slots=True)
class FactorSubject:
    """Everything a code check reads about one person, from one statement."""

    user_id: int
    username: str
    disabled: bool
    lock: FactorLock
    credentials: tuple[SealedCredential, ...]
    counter: tuple[int, datetime] | None  # the rate counter asked for: (count, window start)
    key_found: bool | None = None  # the API key asked about exists (None: not asked)


def _counter(column: str) -> Any:
    return select(_rate.c[column]).where(_rate.c.key == bindparam("rate_key")).scalar_subquery()


_READ = (
    select(
        _user.c.id,
        _user.c.username,
        _user.c.disabled,
        _user.c.factor_failures,
        _user.c.factor_lockouts,
        _user.c.factor_locked_until,
        _user.c.factor_blocked,
        _cred.c.id.label("credential_id"),
        _cred.c.kind,
        _cred.c.label,
        _cred.c.is_default,
        _cred.c.params,
        _cred.c.created_at,
        _cred.c.last_used_at,
        _cred.c.counter,
        _cred.c.key_id,
        _cred.c.secret,
        _counter("count").label("rate_count"),
        _counter("window_start").label("rate_window_start"),
    )
    .select_from(
        _user.outerjoin(
            _cred,
            and_(_cred.c.user_id == _user.c.id, _cred.c.state == CredentialState.ACTIVE.value),
        )
    )
    .order_by(_cred.c.id)
    .with_for_update(of=_user)
)
_BY_ID = Prepared(_READ.where(_user.c.id == bindparam("user_id")))
_KEY_FOUND = (
    select(_integration.c.id)
    .where(
        _integration.c.id == bindparam("integration_id"),
        _integration.c.key_hash == bindparam("key_digest"),
    )
    .scalar_subquery()
    .label("key_found")
)
_NAMED = _READ.where(_user.c.username == bindparam("username"))
_BY_USERNAME = Prepared(_NAMED)
_BY_USERNAME_AND_KEY = Prepared(_NAMED.add_columns(_KEY_FOUND))
_SAVE_LOCK = Prepared(
    update(_user)
    .where(_user.c.id == bindparam("user_id"))
    .values(
        factor_failures=bindparam("failures"),
        factor_lockouts=bindparam("lockouts"),
        factor_locked_until=bindparam("locked_until"),
        factor_blocked=bindparam("blocked"),
    )
)


def by_id(session: Session, user_id: int, *, rate_key: str) -> FactorSubject | None:
    """The person, and the rate counter ``rate_key`` as it stands."""
    params = {"user_id": user_id, "rate_key": rate_key}
    return _subject(_BY_ID.rows(session, params), _BY_ID.index)


def by_username(
    session: Session, username: str, *, rate_key: str, key: tuple[int, str] | None = None
) -> FactorSubject | None:
    """By the normalised username; disabled people are returned too (the caller decides).
    With ``key`` (integration id, key digest), ``key_found`` says whether it still exists."""
    params: dict[str, object] = {"username": username, "rate_key": rate_key}
    if key is None:
        return _subject(_BY_USERNAME.rows(session, params), _BY_USERNAME.index)
    params.update(integration_id=key[0], key_digest=key[1])
    read = _BY_USERNAME_AND_KEY
    return _subject(read.rows(session, params), read.index)


def save_lock(session: Session, user_id: int, lock: FactorLock) -> None:
    _SAVE_LOCK.execute(
        session,
        {
            "user_id": user_id,
            "failures": lock.failures,
            "lockouts": lock.lockouts,
            "locked_until": lock.locked_until,
            "blocked": lock.blocked,
        },
    )


def _subject(rows: Sequence[Row], at: Mapping[str, int]) -> FactorSubject | None:
    """The rows of one read (the person once per active credential), by column position."""
    if not rows:
        return None
    first = rows[0]
    user_id = first[at["id"]]
    rate_count = first[at["rate_count"]]
    credential_id = at["credential_id"]
    return FactorSubject(
        user_id=user_id,
        username=first[at["username"]],
        disabled=bool(first[at["disabled"]]),
        lock=FactorLock(
            failures=first[at["factor_failures"]] or 0,
            lockouts=first[at["factor_lockouts"]] or 0,
            locked_until=first[at["factor_locked_until"]],
            blocked=bool(first[at["factor_blocked"]]),
        ),
        credentials=tuple(
            _sealed(user_id, row, at) for row in rows if row[credential_id] is not None
        ),
        counter=None if rate_count is None else (rate_count, first[at["rate_window_start"]]),
        key_found=(first[at["key_found"]] is not None) if "key_found" in at else None,
    )


def _sealed(user_id: int, row: Row, at: Mapping[str, int]) -> SealedCredential:
    view = CredentialView(
        id=row[at["credential_id"]],
        user_id=user_id,
        kind=row[at["kind"]],
        label=row[at["label"]],
        state=CredentialState.ACTIVE,
        is_default=bool(row[at["is_default"]]),
        params=dict(row[at["params"]] or {}),
        created_at=row[at["created_at"]],
        last_used_at=row[at["last_used_at"]],
        counter=row[at["counter"]],
    )
    return SealedCredential(view=view, key_id=row[at["key_id"]], sealed=row[at["secret"]])
