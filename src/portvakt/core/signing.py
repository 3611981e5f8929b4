"""The server's push signing key: created once, sealed in the database so every instance
signs with the same key, cached in memory after the first load."""

from __future__ import annotations

import json
import threading
import weakref

from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.store.db import Store
from portvakt.store.errors import Duplicate
from portvakt.store.repos import keys

PURPOSE = "push"
_AAD = b"portvakt:signing-key:push"
_cache: weakref.WeakKeyDictionary[Store, ECKey] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def push_key(core: Core, ctx: Context) -> ECKey:
    cached = _cache.get(core.store)
    if cached is not None:
        return cached
    with _lock:
        key = _load(core, ctx) or _create(core, ctx)
        _cache[core.store] = key
        return key


def _load(core: Core, ctx: Context) -> ECKey | None:
    with core.store.read() as s:
        row = keys.first_active(s, PURPOSE)
        if row is None:
            return None
        private = ctx.box.open(row.key_id, row.sealed, aad=_AAD)
    return ECKey.import_key(json.loads(private))


def _create(core: Core, ctx: Context) -> ECKey:
    key = protocol.generate_key()
    key_id, sealed = ctx.box.seal(json.dumps(key.as_dict(private=True)).encode(), aad=_AAD)
    try:
        with core.store.write() as s:
            keys.add(
                s,
                kid=protocol.fingerprint(key),
                purpose=PURPOSE,
                key_id=key_id,
                sealed=sealed,
                public_jwk=protocol.public_jwk(key),
                created_at=ctx.now(),
            )
    except Duplicate:
        pass  # another instance won the race; use its key
    loaded = _load(core, ctx)
    if loaded is None:
        raise RuntimeError("push signing key could not be stored")
    return loaded
