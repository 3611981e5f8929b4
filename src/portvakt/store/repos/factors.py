"""The one read a code check needs, and the one write of lock state it may make.

A person's lock state, active credentials and the failure counters the check spends (the
caller's address, or for the validate API the integration's and the end user's; and whether the
caller's API key still exists and trusts the ``client_ip`` it sends) come back from a single
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


Counter = tuple[int, datetime]  # a rate counter as read: (count, window start)
MAX_COUNTERS = 2


@dataclass(frozen=True, slots=True)
class FactorSubject:
    """Everything a code check reads about one person, from one statement."""

    user_id: int
    username: str
    disabled: bool
    lock: FactorLock
    credentials: tuple[SealedCredential, ...]
    counters: tuple[Counter | None, ...]  # the rate counters asked for, in their order
    key_found: bool | None = None  # the API key asked about exists (None: not asked)
    trusts_client_ip: bool = False  # and its integration believes the client_ip it sends


def _counter(column: str, at: int) -> Any:
    where = _rate.c.key == bindparam(f"rate_key_{at}")
    return select(_rate.c[column]).where(where).scalar_subquery()


def _read(counters: int) -> Any:
    columns = [
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
    ]
    for at in range(counters):
        columns.append(_counter("count", at).label(f"rate_count_{at}"))
        columns.append(_counter("window_start", at).label(f"rate_window_start_{at}"))
    return (
        select(*columns)
        .select_from(
            _user.outerjoin(
                _cred,
                and_(_cred.c.user_id == _user.c.id, _cred.c.state == CredentialState.ACTIVE.value),
            )
        )
        .order_by(_cred.c.id)
        .with_for_update(of=_user)
    )


# the integration's trust_client_ip when the key still exists (NULL when it does not)
_KEY_FOUND = (
    select(_integration.c.trust_client_ip)
    .where(
        _integration.c.id == bindparam("integration_id"),
        _integration.c.key_hash == bindparam("key_digest"),
    )
    .scalar_subquery()
    .label("key_found")
)


@dataclass(frozen=True, slots=True)
class _Read:
    """A read by id or by name, with the positions of its counters' columns."""

    prepared: Prepared
    counters: tuple[tuple[int, int], ...]  # (count, window start) column positions

    @classmethod
    def of(cls, statement: Any) -> _Read:
        prepared = Prepared(statement)
        at = prepared.index
        pairs = []
        for n in range(MAX_COUNTERS):
            if f"rate_count_{n}" in at:
                pairs.append((at[f"rate_count_{n}"], at[f"rate_window_start_{n}"]))
        return cls(prepared, tuple(pairs))


_BY_ID: dict[int, _Read] = {}
_BY_USERNAME: dict[int, _Read] = {}
_BY_USERNAME_AND_KEY: dict[int, _Read] = {}
for _n in range(1, MAX_COUNTERS + 1):
    _BY_ID[_n] = _Read.of(_read(_n).where(_user.c.id == bindparam("user_id")))
    _named = _read(_n).where(_user.c.username == bindparam("username"))
    _BY_USERNAME[_n] = _Read.of(_named)
    _BY_USERNAME_AND_KEY[_n] = _Read.of(_named.add_columns(_KEY_FOUND))
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


_RATE_KEYS = tuple(f"rate_key_{n}" for n in range(MAX_COUNTERS))


def _keys(params: dict[str, object], rate_keys: Sequence[str]) -> int:
    count = len(rate_keys)
    if not 1 <= count <= MAX_COUNTERS:
        raise ValueError(f"1 to {MAX_COUNTERS} rate keys")
    params.update(zip(_RATE_KEYS, rate_keys, strict=False))
    return count


def by_id(session: Session, user_id: int, *, rate_keys: Sequence[str]) -> FactorSubject | None:
    """The person, and the rate counters ``rate_keys`` (one or two) as they stand."""
    params: dict[str, object] = {"user_id": user_id}
    return _subject(session, _BY_ID[_keys(params, rate_keys)], params)


def by_username(
    session: Session,
    username: str,
    *,
    rate_keys: Sequence[str],
    key: tuple[int, str] | None = None,
) -> FactorSubject | None:
    """By the normalised username; disabled people are returned too (the caller decides).
    With ``key`` (integration id, key digest), ``key_found`` says whether it still exists and
    ``trusts_client_ip`` whether its integration trusts the client_ip it sends."""
    params: dict[str, object] = {"username": username}
    count = _keys(params, rate_keys)
    if key is None:
        read = _BY_USERNAME[count]
    else:
        params.update(integration_id=key[0], key_digest=key[1])
        read = _BY_USERNAME_AND_KEY[count]
    return _subject(session, read, params)


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


def _subject(session: Session, read: _Read, params: Mapping[str, object]) -> FactorSubject | None:
    """The rows of one read (the person once per active credential), by column position."""
    rows = read.prepared.rows(session, params)
    if not rows:
        return None
    at = read.prepared.index
    first = rows[0]
    user_id = first[at["id"]]
    credential_id = at["credential_id"]
    found = first[at["key_found"]] if "key_found" in at else None
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
        counters=tuple(
            [
                None if first[count] is None else (first[count], first[start])
                for count, start in read.counters
            ]
        ),
        key_found=(found is not None) if "key_found" in at else None,
        trusts_client_ip=bool(found),
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
