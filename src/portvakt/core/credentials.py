"""Sealing and opening credential secrets; the AAD binds a ciphertext to its owner and kind,
so a sealed seed copied onto another person's row does not open."""

from __future__ import annotations

from dataclasses import replace

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.domain import CredentialView
from portvakt.store.repos.factors import SealedCredential


def ways_in(core: Core, ctx: Context, active: list[CredentialView]) -> list[CredentialView]:
    """The person's active credentials as ways in: all of them while one is still usable (an
    expired pass next to an app is still offered, to say it expired), none when none is (a
    person left with only a used-up pass signs in as one without methods)."""
    registry = core.registry
    for cred in active:
        if cred.kind not in registry:
            continue
        check = getattr(registry.get(cred.kind), "usable", None)  # plugins from before it
        if check is None or check(ctx, cred):
            return active
    return []


def _aad(user_id: int, kind: str) -> bytes:
    return f"portvakt:credential:{user_id}:{kind}".encode()


def seal_secret(ctx: Context, *, user_id: int, kind: str, secret: bytes) -> tuple[str, bytes]:
    """(key id, ciphertext) for a credential secret of ``user_id`` and ``kind``."""
    return ctx.box.seal(secret, aad=_aad(user_id, kind))


def _open(
    ctx: Context, *, user_id: int, kind: str, key_id: str | None, sealed: bytes | None
) -> bytes | None:
    if sealed is None or key_id is None:
        return None
    return ctx.box.open(key_id, sealed, aad=_aad(user_id, kind))


def open_sealed(ctx: Context, credential: SealedCredential) -> CredentialView:
    view = credential.view
    secret = _open(
        ctx,
        user_id=view.user_id,
        kind=view.kind,
        key_id=credential.key_id,
        sealed=credential.sealed,
    )
    return replace(view, secret=secret)
