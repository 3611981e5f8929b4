"""Hashing plaintext passwords on every core, then one transaction of bulk inserts."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import seal_secret
from portvakt.core.userimport.rows import Progress, Row
from portvakt.crypto import hashing
from portvakt.crypto.otp import OtpParams
from portvakt.domain import CredentialState
from portvakt.errors import Conflict
from portvakt.store.errors import Duplicate
from portvakt.store.repos import userimport as stored

IMPORTED_KIND = "totp"  # the file's totp_secret column seeds a credential of this kind
TOTP_LABEL = ""  # shown as the translated name of the kind
BATCH = 2000  # rows per bulk INSERT statement group (also the progress step)
MAX_CHUNK = 32  # passwords per task sent to a worker
# Below this many, hash in this process: starting spawn workers costs about a second, which
# is some 40 argon2id hashes (OWASP parameters, 20-40 ms each).
PARALLEL_FROM = 64


def hash_chunk(passwords: list[str]) -> list[str]:
    """Worker entry point; module level so a ``spawn`` worker can import it."""
    return [hashing.hash_password(p) for p in passwords]


def hash_all(passwords: list[str], progress: Progress) -> list[str]:
    """argon2id every password, in worker processes on every core when there are many;
    the output order is the input order."""
    if not passwords:
        return []
    progress.start("Hashing passwords", len(passwords))
    if len(passwords) < PARALLEL_FROM:
        inline = hash_chunk(passwords)
        progress.advance(len(inline))
        return inline
    workers = min(_cores(), len(passwords))
    size = max(1, min(MAX_CHUNK, len(passwords) // (workers * 4)))
    chunks = [passwords[i : i + size] for i in range(0, len(passwords), size)]
    hashed: list[str] = []
    # spawn, not fork: the parent holds database connections and may run a progress thread
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for part in pool.map(hash_chunk, chunks):
            hashed.extend(part)
            progress.advance(len(part))
    return hashed


def _cores() -> int:
    """CPUs this process may run on (affinity and cpusets included, where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def write(
    core: Core,
    ctx: Context,
    rows: list[Row],
    hashed: list[str],
    progress: Progress,
    *,
    source: str,
) -> None:
    """Insert every user (``hashed`` lines up with the rows that carry a plaintext password),
    their imported TOTP credentials and one audit event, all in one transaction."""
    progress.start("Writing", len(rows))
    now = ctx.now()
    fresh = iter(hashed)
    ids: dict[str, int] = {}
    try:
        with core.store.write() as s:
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                values = [
                    _user_values(r, next(fresh) if r.password is not None else None, now)
                    for r in batch
                ]
                # ids are needed for the credentials only
                with_ids = any(r.seed is not None for r in batch)
                ids.update(stored.add_users(s, values, with_ids=with_ids))
                progress.advance(len(batch))
            seeded = [
                _totp_values(ctx, ids[r.username], r.seed, r.params, now)
                for r in rows
                if r.seed is not None and r.params is not None
            ]
            if seeded:
                stored.add_credentials(s, seeded)
            details = {
                "source": source,
                "users": len(rows),
                "passwords_hashed": len(hashed),
                "hashes_imported": sum(1 for r in rows if r.password_hash is not None),
                "totp": len(seeded),
            }
            record(s, ctx, Event.USER_IMPORTED, details=details)
    except Duplicate as exc:  # someone added one of these names since the check
        raise Conflict("user_exists") from exc


def _user_values(row: Row, fresh_hash: str | None, now: datetime) -> dict[str, Any]:
    password_hash = fresh_hash or row.password_hash
    return {
        "username": row.username,
        "display_name": row.display_name or row.username,
        "email": row.email,
        "phone": row.phone,
        "password_hash": password_hash,
        "disabled": False,
        "created_at": now,
        "password_changed_at": now if password_hash else None,
        "factor_failures": 0,
        "factor_lockouts": 0,
        "factor_locked_until": None,
        "factor_blocked": False,
    }


def _totp_values(
    ctx: Context, user_id: int, seed: bytes, params: OtpParams, now: datetime
) -> dict[str, Any]:
    key_id, sealed = seal_secret(ctx, user_id=user_id, kind=IMPORTED_KIND, secret=seed)
    return {
        "user_id": user_id,
        "kind": IMPORTED_KIND,
        "label": TOTP_LABEL,
        "state": CredentialState.ACTIVE.value,
        "is_default": True,
        "key_id": key_id,
        "secret": sealed,
        "params": params.as_json(),
        "created_at": now,
        "last_used_at": None,
        "counter": None,
    }
