"""ID-token signing keys, one chain per algorithm (ES256 and RS256), rotated without breaking
anyone: a new key is published in the JWKS ``oidc_key_publish_hours`` before it signs
anything, and a superseded key stays published until every ID token it signed has expired.

Keys are sealed in the database (shared by every instance) and read through a cache of
``CACHE_SECONDS``; publishing ahead by at least that long means an instance with a stale cache
never signs with a key other instances do not publish yet."""

from __future__ import annotations

import json
import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc.clients import ALGS
from portvakt.store.db import Store
from portvakt.store.repos import keys as stored
from portvakt.store.repos.keys import KeyRow

PURPOSE = "oidc"
CACHE_SECONDS = 60.0
_AAD = b"portvakt:signing-key:oidc"
_lock = threading.Lock()
# per Store (weakly held: a disposed store's keys never leak to a new one at the same address)
_cache: weakref.WeakKeyDictionary[Store, tuple[float, list[KeyRow]]] = weakref.WeakKeyDictionary()

Key = ECKey | RSAKey


def _generate(alg: str) -> Key:
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    return ECKey.generate_key("P-256", private=True)


def _rows(core: Core, *, fresh: bool = False) -> list[KeyRow]:
    cached = _cache.get(core.store)
    if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    with core.store.read() as s:
        rows = stored.by_purpose(s, PURPOSE)
    _cache[core.store] = (time.monotonic(), rows)
    return rows


def published(core: Core, ctx: Context) -> list[KeyRow]:
    now = ctx.now()
    return [r for r in _rows(core) if r.expires_at is None or r.expires_at > now]


def jwks(core: Core, ctx: Context) -> dict[str, Any]:
    """The public keys apps use to verify ID tokens (creating the first keys if needed)."""
    for alg in ALGS:
        _ensure(core, ctx, alg)
    keys = [
        {**r.public_jwk, "kid": r.kid, "alg": r.alg, "use": "sig"} for r in published(core, ctx)
    ]
    return {"keys": keys}


def signing_key(core: Core, ctx: Context, alg: str) -> tuple[str, Key]:
    """The key that signs now for ``alg``: the newest whose ``not_before`` has passed."""
    row = _current(core, ctx, alg) or _ensure(core, ctx, alg)
    return row.kid, _private(ctx, row)


def cached_signing_key(core: Core, ctx: Context, alg: str) -> tuple[str, Key] | None:
    """``signing_key`` when this instance's cache answers it without a database read (for a
    caller on the event loop); None when it would have to read or create a key."""
    cached = _cache.get(core.store)
    if cached is None or time.monotonic() - cached[0] >= CACHE_SECONDS:
        return None
    now = ctx.now()
    usable = [
        r
        for r in cached[1]
        if r.alg == alg and r.not_before <= now and (r.expires_at is None or r.expires_at > now)
    ]
    return (usable[-1].kid, _private(ctx, usable[-1])) if usable else None


_private_cache: dict[str, Key] = {}


def _private(ctx: Context, row: KeyRow) -> Key:
    key = _private_cache.get(row.kid)
    if key is None:
        data = json.loads(ctx.box.open(row.key_id, row.sealed, aad=_AAD))
        key = RSAKey.import_key(data) if row.alg == "RS256" else ECKey.import_key(data)
        _private_cache[row.kid] = key
    return key


def _current(core: Core, ctx: Context, alg: str) -> KeyRow | None:
    """The newest published key whose ``not_before`` has passed. A key superseded by a
    rotation still pending already has its ``expires_at``, and still signs until then."""
    now = ctx.now()
    usable = [r for r in published(core, ctx) if r.alg == alg and r.not_before <= now]
    return usable[-1] if usable else None


def _ensure(core: Core, ctx: Context, alg: str) -> KeyRow:
    """The first key of a chain signs at once (nobody can hold an older JWKS)."""
    with _lock:
        current = _current(core, ctx, alg)
        if current is not None:
            return current
        if not any(r.alg == alg for r in _rows(core, fresh=True)):
            _insert(core, ctx, alg, not_before=ctx.now())
        current = _current(core, ctx, alg) or _pending_first(core, ctx, alg)
    return current


def _pending_first(core: Core, ctx: Context, alg: str) -> KeyRow:
    rows = [r for r in _rows(core, fresh=True) if r.alg == alg]
    if not rows:
        raise RuntimeError("no OpenID Connect signing key could be stored")
    return rows[0]


def _insert(core: Core, ctx: Context, alg: str, *, not_before: datetime) -> str:
    key = _generate(alg)
    kid = str(key.thumbprint())
    public = {k: v for k, v in key.as_dict(private=False).items() if k not in {"kid", "alg"}}
    key_id, sealed = ctx.box.seal(json.dumps(key.as_dict(private=True)).encode(), aad=_AAD)
    with core.store.write() as s:
        stored.add(
            s,
            kid=kid,
            purpose=PURPOSE,
            key_id=key_id,
            sealed=sealed,
            public_jwk=public,
            created_at=ctx.now(),
            alg=alg,
            not_before=not_before,
        )
    _cache.pop(core.store, None)
    return kid


def rotate(core: Core, ctx: Context, *, immediately: bool = False) -> list[str]:
    """Start a new key for every algorithm. Normally it signs after the publish period and
    the old key stays published until its ID tokens expired; ``immediately`` (a leaked key)
    switches at once and withdraws the old keys now. Returns the new key ids."""
    now = ctx.now()
    start = now if immediately else now + timedelta(hours=ctx.settings.oidc_key_publish_hours)
    keep = timedelta(seconds=ctx.settings.oidc_id_token_seconds + 300)
    new = []
    with _lock:
        for alg in ALGS:
            # a planned rotation leaves keys already superseded alone; a leak withdraws every
            # key still published (the one signing may be superseded by a pending one)
            old = [
                r.kid
                for r in _rows(core, fresh=True)
                if r.alg == alg and (r.expires_at is None or (immediately and r.expires_at > now))
            ]
            kid = _insert(core, ctx, alg, not_before=start if old else now)
            with core.store.write() as s:
                stored.withdraw(s, old, expires_at=now if immediately else start + keep)
                record(
                    s,
                    ctx,
                    Event.OIDC_KEY_ROTATED,
                    details={"alg": alg, "kid": kid, "immediately": immediately},
                )
            new.append(kid)
        _cache.pop(core.store, None)
    return new


def maintain(core: Core, ctx: Context) -> int:
    """Rotate chains whose newest key is older than ``oidc_key_rotate_days`` and delete keys
    withdrawn a day ago. Returns the number of keys deleted."""
    rows = _rows(core, fresh=True)
    age = timedelta(days=ctx.settings.oidc_key_rotate_days)
    newest = max((r.created_at for r in rows), default=None)
    if newest is not None and ctx.now() - newest >= age:
        rotate(core, ctx)
    with core.store.write() as s:
        gone = stored.delete_expired(s, PURPOSE, before=ctx.now() - timedelta(days=1))
    _cache.pop(core.store, None)
    return gone


def _public(row: KeyRow) -> Key:
    params = {"kid": row.kid, "alg": row.alg, "use": "sig"}
    if row.alg == "RS256":
        return RSAKey.import_key(row.public_jwk, parameters=params)  # type: ignore[arg-type]
    return ECKey.import_key(row.public_jwk, parameters=params)  # type: ignore[arg-type]


def encode(header: dict[str, Any], claims: dict[str, Any], key: Key) -> str:
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def verify(core: Core, ctx: Context, token: str) -> dict[str, Any] | None:
    """Claims of an ID token this server signed with a still-published key (expiry is the
    caller's concern: an expired ``id_token_hint`` is still a valid hint); None otherwise."""
    if not token or len(token) > 8192:
        return None
    keyset = KeySet([_public(r) for r in published(core, ctx)])
    try:
        decoded = jwt.decode(token, keyset, algorithms=list(ALGS))
    except (JoseError, ValueError):
        return None
    if decoded.claims.get("iss") != ctx.base_url:
        return None
    return dict(decoded.claims)
