"""The hardware-token inventory, for every kind that imports token files (docs/extend.md,
"Hardware tokens"): import (all or nothing, each rejected part reported), list, assign to a
person, unassign, delete, resynchronise (a person's own claim: ``core.tokenclaim``).

An unassigned token's secret is sealed bound to its kind and serial; assigning or claiming it
re-seals it for the person on a new active credential (``core.credentials``), so a sealed
secret copied between rows opens nowhere else. The kind's method reads the files and judges
a claim (``parse_tokens``, ``verify_claim``); nothing here names a kind."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed, seal_secret
from portvakt.domain import CredentialState, CredentialView
from portvakt.errors import Conflict, Invalid, NotFound
from portvakt.methods.base import Rejected, TokenFile, Verdict
from portvakt.store.errors import Duplicate
from portvakt.store.repos import credentials, users
from portvakt.store.repos import tokens as stored
from portvakt.store.repos.tokens import StoredToken as TokenView  # re-exported

__all__ = ["ImportReport", "Rejected", "TokenView"]

SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_CODES = 4


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: str
    imported: tuple[str, ...]  # serials; empty when anything was rejected
    rejected: tuple[Rejected, ...]


def _aad(kind: str, serial: str) -> bytes:
    return f"portvakt:token:{kind}:{serial}".encode()


def import_file(
    core: Core,
    ctx: Context,
    *,
    fmt: str,
    data: bytes,
    password: str | None = None,
    key: bytes | None = None,
) -> ImportReport:
    """Import every token of the file, or none: a part that cannot be read, a serial seen
    twice or one already in the inventory rejects the whole file."""
    kind = core.registry.importer(fmt)
    if kind is None:
        raise Invalid("unknown_token_format")
    method = core.registry.get(kind)
    parsed = method.parse_tokens(TokenFile(data=data, fmt=fmt, password=password, key=key))
    rejected = list(parsed.rejected)
    seen: set[str] = set()
    for token in parsed.tokens:
        if SERIAL.fullmatch(token.serial) is None:
            rejected.append(Rejected(f"serial {token.serial[:64]!r}", "bad_serial"))
        elif token.serial in seen:
            rejected.append(Rejected(f"serial {token.serial}", "duplicate_serial"))
        seen.add(token.serial)
    try:
        with core.store.write() as s:
            taken = stored.existing_serials(s, sorted(seen))
            rejected += [Rejected(f"serial {serial}", "serial_exists") for serial in sorted(taken)]
            if rejected:
                return ImportReport(kind, (), tuple(rejected))
            new = []
            for token in parsed.tokens:
                key_id, sealed = ctx.box.seal(token.secret, aad=_aad(kind, token.serial))
                new.append(
                    stored.NewToken(kind, token.serial, token.params, token.counter, key_id, sealed)
                )
            stored.add_all(s, new, ctx.now())
            details = {"kind": kind, "format": fmt, "count": len(new)}
            record(s, ctx, Event.TOKENS_IMPORTED, details=details)
    except Duplicate:  # imported concurrently
        return ImportReport(kind, (), (Rejected("file", "serial_exists"),))
    return ImportReport(kind, tuple(t.serial for t in parsed.tokens), ())


def listing(core: Core) -> list[TokenView]:
    with core.store.read() as s:
        return stored.listing(s)


def find(core: Core, serial: str) -> TokenView:
    with core.store.read() as s:
        return _found(s, serial)


def _found(s: Session, serial: str, *, for_update: bool = False) -> TokenView:
    token = stored.by_serial(s, serial, for_update=for_update) if serial else None
    if token is None:
        raise NotFound("token_not_found")
    return token


def token_view(ctx: Context, token: TokenView, user_id: int) -> CredentialView:
    """The token as a credential of ``user_id`` (its secret opened), for its method."""
    return CredentialView(
        id=0,
        user_id=user_id,
        kind=token.kind,
        label=token.serial,
        state=CredentialState.PENDING,
        is_default=False,
        params=token.params,
        created_at=token.imported_at,
        last_used_at=None,
        counter=token.counter,
        secret=ctx.box.open(token.key_id, token.sealed, aad=_aad(token.kind, token.serial)),
    )


def hand_over(s: Session, ctx: Context, view: CredentialView, token: TokenView) -> int:
    """A new active credential of the person holding the token; its id."""
    assert view.secret is not None
    key_id, sealed = seal_secret(ctx, user_id=view.user_id, kind=view.kind, secret=view.secret)
    now = ctx.now()
    credential_id = credentials.add(
        s,
        user_id=view.user_id,
        kind=view.kind,
        label=view.label,
        params=view.params,
        created_at=now,
        key_id=key_id,
        sealed=sealed,
    )
    credentials.activate(s, credential_id, now, counter=view.counter, params=view.params)
    stored.link(s, token.id, credential_id, counter=view.counter, params=view.params)
    return credential_id


def assign(core: Core, ctx: Context, serial: str, username: str) -> TokenView:
    """Give an unassigned token to the person called ``username``."""
    with core.store.write() as s:
        token = _found(s, serial, for_update=True)
        if token.credential_id is not None:
            raise Conflict("token_assigned")
        user = users.by_username(s, username)
        if user is None:
            raise NotFound("user_not_found")
        credential_id = hand_over(s, ctx, token_view(ctx, token, user.id), token)
        details = {"serial": serial}
        record(
            s,
            ctx,
            Event.TOKEN_ASSIGNED,
            user_id=user.id,
            method=token.kind,
            credential_id=credential_id,
            details=details,
        )
        return replace(token, credential_id=credential_id, user_id=user.id, username=username)


def unassign(core: Core, ctx: Context, serial: str) -> TokenView:
    """Take a token back into the inventory: the person's credential goes, its replay state
    stays with the token."""
    with core.store.write() as s:
        token = _found(s, serial, for_update=True)
        if token.credential_id is None:
            raise Conflict("token_not_assigned")
        _take_back(s, ctx, token)
        return replace(token, credential_id=None, user_id=None, username=None)


def _take_back(s: Session, ctx: Context, token: TokenView) -> None:
    assert token.credential_id is not None
    held = credentials.get_by_id(s, token.credential_id, for_update=True)
    if held is not None:
        view = held.view
        stored.link(s, token.id, None, counter=view.counter, params=view.params)
        credentials.remove(s, view.id)
    record(
        s,
        ctx,
        Event.TOKEN_UNASSIGNED,
        user_id=token.user_id,
        method=token.kind,
        details={"serial": token.serial},
    )


def delete(core: Core, ctx: Context, serial: str) -> TokenView:
    """Remove a token from the inventory (and from the person holding it)."""
    with core.store.write() as s:
        token = _found(s, serial, for_update=True)
        if token.credential_id is not None:
            _take_back(s, ctx, token)
        stored.remove(s, token.id)
        details = {"serial": serial}
        record(s, ctx, Event.TOKEN_DELETED, method=token.kind, details=details)
        return token


def resync(core: Core, ctx: Context, serial: str, codes: Sequence[str]) -> None:
    """Move a token's counter (and TOTP drift) to where its codes are now: two consecutive
    codes (or what its kind asks for), searched far ahead."""
    with core.store.write() as s:
        token = _found(s, serial, for_update=True)
        method = core.registry.get(token.kind)
        if token.credential_id is None:
            verdict = method.verify_claim(ctx, token_view(ctx, token, 0), codes[:MAX_CODES])
            if not verdict.ok:
                raise Invalid("resync_failed")
            params = verdict.params if verdict.params is not None else token.params
            stored.link(
                s, token.id, None, counter=counter_of(verdict, token.counter), params=params
            )
        else:
            held = credentials.get_by_id(s, token.credential_id, for_update=True)
            assert held is not None
            view = open_sealed(ctx, held)
            verdict = method.verify_claim(ctx, view, codes[:MAX_CODES])
            if not verdict.ok or verdict.counter is None:
                raise Invalid("resync_failed")
            moved = credentials.advance_counter(
                s, view.id, verdict.counter.value, ctx.now(), params=verdict.params
            )
            if not moved:
                raise Invalid("resync_failed")
        record(s, ctx, Event.TOKEN_RESYNCED, method=token.kind, details={"serial": serial})


def counter_of(verdict: Verdict, before: int | None) -> int | None:
    return verdict.counter.value if verdict.counter is not None else before
