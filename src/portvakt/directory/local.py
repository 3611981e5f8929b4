"""Users and argon2id password hashes in Portvakt's own database."""

from __future__ import annotations

from portvakt.crypto import hashing
from portvakt.directory.base import Authenticated
from portvakt.store.db import Store
from portvakt.store.repos import users


class LocalDirectory:
    def __init__(self, store: Store) -> None:
        self._store = store

    def authenticate(self, username: str, password: str) -> Authenticated | None:
        with self._store.read() as session:
            row = users.by_username(session, username)
            ref = users.to_ref(row) if row is not None else None
            stored = row.password_hash if row is not None else None
        if ref is None or stored is None:
            hashing.burn_password_check(password)
            return None
        if not hashing.verify_password(stored, password):
            return None
        new_hash = hashing.hash_password(password) if hashing.needs_rehash(stored) else None
        return Authenticated(user=ref, new_hash=new_hash)
