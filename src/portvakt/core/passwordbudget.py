"""Budgets for the password step that an attacker cannot point at a victim (RL-05, RL-06).

SECURITY.md RL-05 forbids a hard per-account lock on the password step: ten wrong passwords
from anywhere must not keep a person out. So the step has these budgets, each counted by one
atomic upsert *before* the password is checked (40 concurrent attempts against a limit of 10
check exactly 10, on SQLite and PostgreSQL):

- **per address** (``password_attempts_per_ip`` in the window), whatever the names tried;
- **per name and address** (``password_failures_per_account``): one address cannot go on
  guessing one person's password, while the person's own address is unaffected;
- **per name, a growing delay instead of a lock**: once a name has had
  ``password_failures_per_account`` failures in the window (from all addresses together),
  every answer for it waits 1 s, then 2, 4, … up to ``password_delay_max_seconds``. The right
  password still gets in, it just waits; the door awaits the delay without holding a thread.

A browser holding a valid remembered-device token for that person is exempt from all three:
its attempts count under the device instead (the same per-name limit), so a stolen device
cookie still cannot guess without limit.

And every failed check costs at least what verifying the slowest hash scheme present costs
(argon2id, or bcrypt from an import with its cost factor), so an unknown name cannot be told
from a person with a slow imported hash by the time the answer takes (``failure_floor``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.crypto import hashing
from portvakt.errors import Throttled
from portvakt.store.repos import devices, users

FLOOR_TTL_SECONDS = 300.0
_floors: dict[int, tuple[float, float]] = {}  # id(store) -> (valid until, seconds)


@dataclass(frozen=True, slots=True)
class Admission:
    """An attempt that was let through: the keys its outcome is counted under, and how long
    its answer must wait (the per-name delay)."""

    name_key: str
    pair_key: str
    wait: float


def admit(core: Core, ctx: Context, name: str, device_token: str | None) -> Admission:
    """Count the attempt against its budgets and return its admission, or raise ``Throttled``
    (429) when the address, or this name from this address, is over budget."""
    settings = ctx.settings
    window = settings.rate_window_seconds
    now = ctx.now()
    name_hash = ctx.box.keyed_hash(name.encode(), purpose="password-name")
    with core.store.write() as s:
        device = _remembered_device(s, ctx, name, device_token)
        if device is None:
            pair_key = f"pw-pair:{name_hash}:{ctx.ip}"
            scope = "ip"
            over = ratelimit.hit(s, f"pw-ip:{ctx.ip}", now=now, window=window) > (
                settings.password_attempts_per_ip
            )
        else:
            pair_key = f"pw-device:{name_hash}:{device}"
            scope, over = "ip", False
        if not over:
            scope = "account"
            count = ratelimit.hit(s, pair_key, now=now, window=window)
            over = count > settings.password_failures_per_account
        failures, _ = ratelimit.current(s, f"pw-name:{name_hash}", now=now, window=window)
        retry = 0
        if over:
            record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", details={"scope": scope})
            key = f"pw-ip:{ctx.ip}" if scope == "ip" else pair_key
            _, started = ratelimit.current(s, key, now=now, window=window)
            retry = int((started + timedelta(seconds=window) - now).total_seconds())
    if over:
        raise Throttled("rate_limited", retry_after=retry)
    wait = 0.0 if device is not None else delay_for(ctx, failures)
    return Admission(name_key=f"pw-name:{name_hash}", pair_key=pair_key, wait=wait)


def delay_for(ctx: Context, failures: int) -> float:
    """The per-name delay after ``failures`` failures in the window: none below the limit,
    then 1 s doubling, capped at ``password_delay_max_seconds``."""
    over = failures - ctx.settings.password_failures_per_account
    if over < 0:
        return 0.0
    return float(min(2 ** min(over, 16), ctx.settings.password_delay_max_seconds))


def failed(s: Session, ctx: Context, admission: Admission) -> None:
    """A wrong password (or unknown or disabled name): one more failure for the name."""
    ratelimit.hit(s, admission.name_key, now=ctx.now(), window=ctx.settings.rate_window_seconds)


def succeeded(s: Session, admission: Admission) -> None:
    """The right password: this address (or device) starts afresh for the name. The name's own
    failure count is kept, so an attacker gains nothing from the person signing in."""
    ratelimit.reset(s, admission.pair_key)


def failure_floor(core: Core) -> float:
    """Seconds a failed password check must take at least: what verifying the slowest hash
    scheme present in the directory costs here (RL-06). Re-read every few minutes, so an
    import of bcrypt hashes is taken into account without a restart."""
    key = id(core.store)
    cached = _floors.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    with core.store.read() as s:
        samples = users.password_hash_samples(s)
    schemes = {hashing.scheme_of(h) for h in samples} | {hashing.scheme_of(hashing.dummy_hash())}
    floor = max(hashing.verify_seconds(scheme) for scheme in schemes if scheme)
    _floors[key] = (time.monotonic() + FLOOR_TTL_SECONDS, floor)
    return floor


def _remembered_device(s: Session, ctx: Context, name: str, token: str | None) -> int | None:
    """The id of the browser's remembered device, when it is valid and belongs to ``name``."""
    if not token or len(token) > 100 or not name:
        return None
    digest = ctx.box.keyed_hash(token.encode(), purpose="device")
    found = devices.by_token_hash(s, digest)
    if found is None:
        return None
    device_id, expires_at, username = found
    if expires_at <= ctx.now() or username != name:
        return None
    return device_id
