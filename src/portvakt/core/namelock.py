"""Code checks for a name that is not a live person: unknown, disabled or malformed.

Such a name is answered as a person would be (RL-06): the same budgets are checked and spent,
a code is computed against a throwaway secret, and the failures lock the name exactly as
``core.throttle`` locks a person's second factor (10 in a row lock it for 5 minutes, doubling
to 1 hour; 100 block it), with the same answers. The lock state is kept in ``name_lock`` under
a keyed hash of the normalised name, never the name itself.

A person's count of consecutive failures lasts until they sign in; a name's lasts until
``KEEP`` has passed without a failure and without a lock in force (as if the person had signed
in since), and a block until ``BLOCK_KEEP`` has (as if an administrator had unlocked it): then
``core.maintenance`` deletes the row. That keeps the table bounded by the budgets."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.factor import Budget, FactorOutcome, gate, spend
from portvakt.directory.base import normalise_username
from portvakt.domain import CredentialState, CredentialView, FactorLock
from portvakt.errors import Invalid, Throttled
from portvakt.methods.base import FactorResponse
from portvakt.store.repos import namelocks

KEEP = throttle.LOCK_LEVEL_DECAY
BLOCK_KEEP = timedelta(days=30)
PURPOSE = "name-lock"
_DUMMY_SECRET = b"portvakt-validate-dummy-secret!!"


def name_hash(ctx: Context, username: str) -> str:
    """The keyed hash a name's lock state is kept under: of the normalised name, so that every
    spelling of one name shares it (a malformed name is folded the same way, unchecked)."""
    try:
        name = normalise_username(username)
    except Invalid:
        name = unicodedata.normalize("NFKC", username).strip().casefold()
    return ctx.box.keyed_hash(name.encode("utf-8", "surrogatepass"), purpose=PURPOSE)


def lock_of(s: Session, ctx: Context, username: str) -> FactorLock:
    """The name's lock state as it stands (nothing is written)."""
    return namelocks.get(s, name_hash(ctx, username))


def check(
    s: Session, core: Core, ctx: Context, username: str, code: str, budgets: Sequence[Budget]
) -> FactorOutcome:
    """A wrong code for ``username``, with the work and the answers of a wrong code for a
    person (``core.factor.check_subject``): never ``ok``; ``throttled`` while the name or a
    budget is locked (nothing counted) and when this failure locks the name."""
    now = ctx.now()
    hashed = name_hash(ctx, username)
    lock = namelocks.take(s, hashed, now=now)
    window = ctx.settings.rate_window_seconds
    counters = [ratelimit.current(s, budget.key, now=now, window=window) for budget in budgets]
    kind = _code_kind(core)
    try:
        gate(ctx, lock, counters, budgets)
    except Throttled as exc:
        record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", method=kind)
        return FactorOutcome(ok=False, throttled=exc)
    if kind is not None:
        _dummy_check(core, ctx, kind, code)
    spend(s, ctx, budgets)
    lock, throttled = throttle.failed(s, ctx, None, lock, core.knobs, method=kind)
    namelocks.save(s, hashed, lock, now=now)
    return FactorOutcome(ok=False, throttled=throttled)


def _code_kind(core: Core) -> str | None:
    kinds = [k for k in core.registry.kinds() if core.registry.get(k).capabilities.interactive]
    return kinds[0] if kinds else None


def _dummy_check(core: Core, ctx: Context, kind: str, code: str) -> None:
    """One code computation against a throwaway secret, as for a person's wrong code."""
    method = core.registry.get(kind)
    normalised = method.normalise_response(code)
    if normalised is None:
        return
    dummy = CredentialView(
        id=0,
        user_id=0,
        kind=kind,
        label="",
        state=CredentialState.ACTIVE,
        is_default=True,
        params={},
        created_at=ctx.now(),
        last_used_at=None,
        secret=_DUMMY_SECRET,
    )
    method.verify(ctx, dummy, None, FactorResponse(code=normalised))
