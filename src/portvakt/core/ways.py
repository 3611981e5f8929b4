"""What a person may sign in with, decided once per step: the policy's decision for their
usable credentials, and the ways in the second-factor page offers (the default first, the one
they used last as a hint)."""

from __future__ import annotations

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.credentials import ways_in
from portvakt.domain import CredentialView
from portvakt.policy.engine import Decision, PolicyInput, decide


def decision(
    core: Core, ctx: Context, user_id: int, *, remembered: bool, active: list[CredentialView]
) -> Decision:
    kinds = frozenset(c.kind for c in ways_in(core, ctx, active))
    data = PolicyInput(
        door=ctx.door.value, enrolled_kinds=kinds, now=ctx.now(), remembered_device=remembered
    )
    return decide(core.knobs, data)


def offered_ways(
    core: Core, active: list[CredentialView], offered: frozenset[str]
) -> tuple[str | None, str | None]:
    """The kind the second-factor page opens with (the person's default method, or the first
    way in they have) and the other kind they used last."""
    usable = [c for c in active if c.kind in offered]
    ordered = core.registry.ordered({c.kind for c in usable})
    chosen = next((c.kind for c in usable if c.is_default), None)
    default = chosen if chosen is not None else (ordered[0] if ordered else None)
    others = [
        c
        for c in usable
        if c.kind != default
        and c.last_used_at is not None
        and not core.registry.is_fallback(c.kind)
    ]
    last = max(others, key=lambda c: c.last_used_at or c.created_at).kind if others else None
    return default, last
