"""Users and argon2id password hashes in Portvakt's own database."""

from __future__ import annotations

from portvakt.crypto import hashing
from portvakt.directory.base import PasswordCheck
from portvakt.store.db import Store
from portvakt.store.repos import users


class LocalDirectory:
    def __init__(self, store: Store) -> None:
        self._store = store

    def authenticate(self, username: str, password: str) -> PasswordCheck:
        with self._store.read() as session:
            found = users.password_of(session, username)
        ref, stored = found if found is not None else (None, None)
        if stored is None:
            hashing.burn_password_check(password)
            return PasswordCheck(user=ref, ok=False)
        if not hashing.verify_password(stored, password):
            return PasswordCheck(user=ref, ok=False)
        new_hash = hashing.hash_password(password) if hashing.needs_rehash(stored) else None
        return PasswordCheck(user=ref, ok=True, new_hash=new_hash)
