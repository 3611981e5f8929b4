"""Credentials an operator issues (``Capabilities.issued_by_operator``): a temporary access
pass after a lost phone (docs/methods/tap.md). The registry names the kind; this module never
does. The pass is shown once, to the operator; only what the method keeps (keyed hashes) is
stored. A new one replaces the person's old one, used or not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.directory.base import normalise_username
from portvakt.errors import Conflict, Invalid, NotFound
from portvakt.store.repos import credentials, users


@dataclass(frozen=True, slots=True)
class IssuedPass:
    username: str
    kind: str
    shown: str = field(repr=False)  # printed once, never stored
    expires_at: datetime
    uses: int
    replaced: int  # the person's older ones that stopped working


def issue(
    core: Core, ctx: Context, *, username: str, hours: int | None, uses: int | None
) -> IssuedPass:
    """Issue the operator's kind to ``username`` for ``hours`` and ``uses`` (None: the kind's
    defaults; out of its bounds: ``Invalid``). Unknown person: ``NotFound``; disabled, or
    without a password (a pass replaces only the second factor): ``Conflict``."""
    kind = core.registry.issued_kind()
    if kind is None or kind not in core.knobs.allowed_kinds:
        raise Conflict("kind_not_allowed")
    try:
        name = normalise_username(username)
    except Invalid as exc:
        raise NotFound("user_not_found") from exc
    method = core.registry.get(kind)
    with core.store.write() as s:
        found = users.password_of(s, name)
        if found is None:
            raise NotFound("user_not_found")
        user, password_hash = found
        if user.disabled:
            raise Conflict("user_disabled")
        if password_hash is None:
            raise Conflict("no_password")
        issued = method.issue(ctx, user, hours=hours, uses=uses)
        credentials.remove_pending(s, user.id, kind)
        new_id = credentials.add(
            s,
            user_id=user.id,
            kind=kind,
            label="",
            params=issued.params,
            created_at=ctx.now(),
            active=True,
        )
        replaced = credentials.remove_others(s, user.id, kind, keep=new_id)
        details = {
            "hours": round((issued.expires_at - ctx.now()).total_seconds() / 3600),
            "uses": issued.uses,
            "expires_at": issued.expires_at.isoformat(),
            "replaced": replaced,
        }
        record(
            s,
            ctx,
            Event.METHOD_ISSUED,
            user_id=user.id,
            method=kind,
            credential_id=new_id,
            details=details,
        )
    return IssuedPass(
        username=user.username,
        kind=kind,
        shown=issued.shown,
        expires_at=issued.expires_at,
        uses=issued.uses,
        replaced=replaced,
    )
