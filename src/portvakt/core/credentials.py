"""Sealing and opening credential secrets; the AAD binds a ciphertext to its owner and kind,
so a sealed seed copied onto another person's row does not open."""

from __future__ import annotations

from portvakt.context import Context
from portvakt.domain import CredentialView
from portvakt.store.models import Credential
from portvakt.store.repos.credentials import to_view


def _aad(user_id: int, kind: str) -> bytes:
    return f"portvakt:credential:{user_id}:{kind}".encode()


def seal(ctx: Context, row: Credential, secret: bytes) -> None:
    row.key_id, row.secret = ctx.box.seal(secret, aad=_aad(row.user_id, row.kind))


def open_view(ctx: Context, row: Credential) -> CredentialView:
    secret = None
    if row.secret is not None and row.key_id is not None:
        secret = ctx.box.open(row.key_id, row.secret, aad=_aad(row.user_id, row.kind))
    return to_view(row, secret)
