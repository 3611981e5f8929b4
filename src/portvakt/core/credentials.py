"""Sealing and opening credential secrets; the AAD binds a ciphertext to its owner and kind,
so a sealed seed copied onto another person's row does not open."""

from __future__ import annotations

from portvakt.context import Context
from portvakt.domain import CredentialView
from portvakt.store.models import Credential
from portvakt.store.repos.credentials import to_view


def _aad(user_id: int, kind: str) -> bytes:
    return f"portvakt:credential:{user_id}:{kind}".encode()


def seal_secret(ctx: Context, *, user_id: int, kind: str, secret: bytes) -> tuple[str, bytes]:
    """(key id, ciphertext) for a credential secret of ``user_id`` and ``kind``."""
    return ctx.box.seal(secret, aad=_aad(user_id, kind))


def seal(ctx: Context, row: Credential, secret: bytes) -> None:
    row.key_id, row.secret = seal_secret(ctx, user_id=row.user_id, kind=row.kind, secret=secret)


def open_view(ctx: Context, row: Credential) -> CredentialView:
    secret = None
    if row.secret is not None and row.key_id is not None:
        secret = ctx.box.open(row.key_id, row.secret, aad=_aad(row.user_id, row.kind))
    return to_view(row, secret)
