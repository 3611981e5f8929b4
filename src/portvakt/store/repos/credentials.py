from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from portvakt.domain import CredentialState, CredentialView
from portvakt.store.models import Credential, HardwareToken
from portvakt.store.prepared import Prepared
from portvakt.store.repos.factors import SealedCredential

_table = cast(Table, Credential.__table__)


def to_view(row: Credential, secret: bytes | None = None) -> CredentialView:
    return CredentialView(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        label=row.label,
        state=CredentialState(row.state),
        is_default=row.is_default,
        params=dict(row.params or {}),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        counter=row.counter,
        secret=secret,
    )


def _sealed(row: Credential) -> SealedCredential:
    return SealedCredential(view=to_view(row), key_id=row.key_id, sealed=row.secret)


def _rows(session: Session, user_id: int, *, active_only: bool) -> list[Credential]:
    query = select(Credential).where(Credential.user_id == user_id)
    if active_only:
        query = query.where(Credential.state == CredentialState.ACTIVE)
    return list(session.scalars(query.order_by(Credential.created_at, Credential.id)))


def for_user(session: Session, user_id: int, *, active_only: bool = False) -> list[CredentialView]:
    """A person's credentials, oldest first, without their secrets."""
    return [to_view(row) for row in _rows(session, user_id, active_only=active_only)]


def get(session: Session, user_id: int, credential_id: int) -> SealedCredential | None:
    """A credential of ``user_id`` with its secret still sealed."""
    query = select(Credential).where(Credential.id == credential_id, Credential.user_id == user_id)
    row = session.scalars(query).first()
    return _sealed(row) if row is not None else None


def add(  # noqa: PLR0913 - keyword-only, one per column
    session: Session,
    *,
    user_id: int,
    kind: str,
    label: str,
    params: Mapping[str, Any],
    created_at: datetime,
    key_id: str | None = None,
    sealed: bytes | None = None,
    active: bool = False,
) -> int:
    """A new pending credential (``active``: one that needs no confirming, never the
    default: a pass an operator issued); its id."""
    state = CredentialState.ACTIVE if active else CredentialState.PENDING
    row = Credential(
        user_id=user_id,
        kind=kind,
        label=label,
        state=state.value,
        is_default=False,
        params=dict(params),
        created_at=created_at,
        key_id=key_id,
        secret=sealed,
    )
    session.add(row)
    session.flush()
    return row.id


def remove_pending(session: Session, user_id: int, kind: str) -> None:
    """Drop a person's unfinished enrolment of ``kind``."""
    session.execute(
        delete(_table).where(
            _table.c.user_id == user_id,
            _table.c.kind == kind,
            _table.c.state == CredentialState.PENDING.value,
        )
    )


def activate(  # noqa: PLR0913 - keyword-only: what the verdict changes
    session: Session,
    credential_id: int,
    now: datetime,
    *,
    counter: int | None,
    params: Mapping[str, Any] | None,
    forget_secret: bool = False,
    may_be_default: bool = True,
) -> None:
    """A pending credential proved to work: active, with its first replay state, and the
    default if the person has no default yet (and it ``may_be_default``); with
    ``forget_secret`` its sealed secret is dropped (it was only there to be shown once)."""
    row = session.get(Credential, credential_id)
    if row is None:
        return
    others = _rows(session, row.user_id, active_only=True)
    row.state = CredentialState.ACTIVE.value
    row.counter = counter
    if params is not None:
        row.params = dict(params)
    row.is_default = may_be_default and not any(c.is_default for c in others if c.id != row.id)
    row.last_used_at = now
    if forget_secret:
        row.secret = None
        row.key_id = None
    session.flush()


_tokens = cast(Table, HardwareToken.__table__)


def of_person(user_id: int) -> Any:
    """The condition "a credential of ``user_id``", for ``give_back_tokens``."""
    return _table.c.user_id == user_id


def give_back_tokens(session: Session, where: Any) -> None:
    """Before credentials matching ``where`` go: each one handed out from the token inventory
    gives its token the replay state it reached (counter, drift), so that no code used while
    it was held works again when the token is claimed or assigned anew."""
    held = select(_table.c.id).where(where)
    counter = select(_table.c.counter).where(_table.c.id == _tokens.c.credential_id)
    params = select(_table.c.params).where(_table.c.id == _tokens.c.credential_id)
    session.execute(
        update(_tokens)
        .where(_tokens.c.credential_id.in_(held))
        .values(counter=counter.scalar_subquery(), params=params.scalar_subquery())
        .execution_options(synchronize_session=False)
    )


def param_taken(session: Session, kind: str, name: str, value: str, *, but: int) -> bool:
    """Whether an active credential of ``kind`` other than ``but`` holds ``value`` in
    ``params[name]`` (registration is rare: the JSON is read, not indexed)."""
    query = select(_table.c.id).where(
        _table.c.kind == kind,
        _table.c.id != but,
        _table.c.state == CredentialState.ACTIVE.value,
        Credential.params[name].as_string() == value,
    )
    return session.execute(query.limit(1)).first() is not None


def remove_others(session: Session, user_id: int, kind: str, *, keep: int) -> int:
    """Delete the person's other active credentials of ``kind``; how many there were."""
    give_back_tokens(
        session,
        (_table.c.user_id == user_id)
        & (_table.c.kind == kind)
        & (_table.c.id != keep)
        & (_table.c.state == CredentialState.ACTIVE.value),
    )
    result = session.execute(
        delete(_table).where(
            _table.c.user_id == user_id,
            _table.c.kind == kind,
            _table.c.id != keep,
            _table.c.state == CredentialState.ACTIVE.value,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def rename(session: Session, credential_id: int, label: str) -> None:
    session.execute(update(_table).where(_table.c.id == credential_id).values(label=label))


def make_default(session: Session, user_id: int, credential_id: int) -> None:
    """``credential_id`` becomes the person's one default."""
    session.execute(
        update(_table)
        .where(_table.c.user_id == user_id)
        .values(is_default=_table.c.id == credential_id)
    )


def remove(session: Session, credential_id: int) -> None:
    give_back_tokens(session, _table.c.id == credential_id)
    session.execute(delete(_table).where(_table.c.id == credential_id))


def remove_all(session: Session, user_id: int) -> int:
    """Delete every credential of a person; how many there were."""
    give_back_tokens(session, of_person(user_id))
    result = session.execute(delete(_table).where(_table.c.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Built once: a code check runs it on every success (on the DBAPI cursor, so no ORM session
# sync nor per-call Core machinery either).
_ADVANCE_STATEMENT = (
    update(_table)
    .where(
        _table.c.id == bindparam("credential_id"),
        _table.c.counter.is_(None)
        | (_table.c.counter < bindparam("new_counter"))
        | (bindparam("zero_stays") & (_table.c.counter == 0) & (bindparam("new_counter") == 0)),
    )
    .values(counter=bindparam("new_counter"), last_used_at=bindparam("now"))
)
_ADVANCE = Prepared(_ADVANCE_STATEMENT)


def advance_counter(
    session: Session,
    credential_id: int,
    counter: int,
    now: datetime,
    *,
    zero_stays: bool = False,
    params: Mapping[str, Any] | None = None,
) -> bool:
    """Compare-and-set the replay state (OTP-04): succeeds only if ``counter`` moves forward,
    so two concurrent checks of the same code can never both pass. With ``zero_stays`` (a
    WebAuthn sign count) a count of 0 that stays 0 is accepted too. New ``params`` (a token's
    clock drift) are written by the same statement, only when the counter moves."""
    values = {
        "credential_id": credential_id,
        "new_counter": counter,
        "now": now,
        "zero_stays": zero_stays,
    }
    if params is None:
        return _ADVANCE.execute(session, values) == 1
    result = session.execute(
        _ADVANCE_STATEMENT.values(params=dict(params)).execution_options(synchronize_session=False),
        values,
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def get_by_id(
    session: Session, credential_id: int, *, for_update: bool = False
) -> SealedCredential | None:
    row = session.get(Credential, credential_id, with_for_update=for_update)
    return _sealed(row) if row is not None else None


def mark_used(
    session: Session,
    credential_id: int,
    now: datetime,
    *,
    activate: bool = False,
    params: Mapping[str, Any] | None = None,
) -> bool:
    """Note a use (and new params); with ``activate`` a pending credential becomes active, and
    the default if the person has none. True if it was activated."""
    row = session.get(Credential, credential_id)
    if row is None:
        return False
    row.last_used_at = now
    if params is not None:
        row.params = dict(params)
    if not activate or row.state != CredentialState.PENDING.value:
        return False
    others = for_user(session, row.user_id, active_only=True)
    row.state = CredentialState.ACTIVE.value
    row.is_default = not any(c.is_default for c in others)
    return True


def set_params(
    session: Session, credential_id: int, params: Mapping[str, Any], *, label: str | None = None
) -> None:
    """Replace a credential's non-secret params and drop its secret (a spent activation code);
    give it ``label`` if it has none."""
    row = session.get(Credential, credential_id)
    if row is None:
        return
    row.params = dict(params)
    row.secret = None
    row.key_id = None
    if label and not row.label:
        row.label = label


def replace_params(session: Session, credential_id: int, params: Mapping[str, Any]) -> None:
    """Replace a credential's non-secret params only (a flag set on a refusal)."""
    session.execute(
        update(_table)
        .where(_table.c.id == credential_id)
        .values(params=dict(params))
        .execution_options(synchronize_session=False)
    )


def touch(
    session: Session, credential_id: int, now: datetime, *, params: Mapping[str, Any] | None = None
) -> bool:
    """Note a use of a credential without replay state (and store new params)."""
    values: dict[str, Any] = {"last_used_at": now}
    if params is not None:
        values["params"] = dict(params)
    result = session.execute(
        update(_table)
        .where(_table.c.id == credential_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def consume(session: Session, credential_id: int, code_id: str, now: datetime) -> bool:
    """Use up one of a credential's one-time codes (kept in ``params["used"]``) once: the row
    is read under its lock, so two concurrent uses of one code cannot both pass."""
    row = session.get(Credential, credential_id, with_for_update=True)
    if row is None:
        return False
    params = dict(row.params or {})
    used = list(params.get("used", []))
    if code_id in used:
        return False
    params["used"] = [*used, code_id]
    row.params = params
    row.last_used_at = now
    session.flush()
    return True
