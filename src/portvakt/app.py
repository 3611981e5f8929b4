"""Composition root: settings → data folder → keys → store (migrated) → core → doors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from portvakt.channels.geoip import locator_from_path
from portvakt.channels.notify import notifier_from_url
from portvakt.context import Context, SystemClock
from portvakt.core import delivery
from portvakt.core.base import Core, knobs_from_settings
from portvakt.crypto.secretbox import KeyRing
from portvakt.directory.local import LocalDirectory
from portvakt.domain import Door
from portvakt.methods.registry import load_registry
from portvakt.ports import Clock, Sender
from portvakt.settings import Settings
from portvakt.store import migrate
from portvakt.store.db import Store


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    core: Core
    box: KeyRing
    clock: Clock

    def context(
        self,
        door: Door,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        actor: str | None = None,
        base_url: str | None = None,
        language: str | None = None,
    ) -> Context:
        return Context(
            settings=self.settings,
            clock=self.clock,
            box=self.box,
            door=door,
            ip=ip,
            user_agent=user_agent,
            actor=actor,
            base_url=base_url,
            language=language,
        )

    def with_clock(self, clock: Clock) -> Runtime:
        return replace(self, clock=clock)


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data folder (0700); keys and the SQLite file inside it are 0600."""
    path = settings.data_dir
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def load_keys(settings: Settings) -> KeyRing:
    if settings.secret_key is not None:
        return KeyRing.from_master_key(settings.secret_key.get_secret_value())
    return KeyRing.load_or_create(settings.data_dir / "keys.json")


def build(settings: Settings, *, clock: Clock | None = None, upgrade: bool = True) -> Runtime:
    prepare_data_dir(settings)
    box = load_keys(settings)
    store = Store(settings.db_url)
    if upgrade:
        migrate.upgrade(store.engine)
    if store.is_sqlite:
        _restrict_sqlite_files(settings.db_url)
    registry = load_registry(settings.methods)
    core = Core(
        store=store,
        registry=registry,
        knobs=knobs_from_settings(settings, registry),
        directory=LocalDirectory(store),
        notifier=notifier_from_url(
            settings.db_url,
            settings.redis_url.get_secret_value() if settings.redis_url else None,
        ),
        locator=locator_from_path(settings.geoip_database),
        senders=load_senders(settings),
    )
    runtime = Runtime(settings=settings, core=core, box=box, clock=clock or SystemClock())
    for channel, sender in core.senders.items():
        if hasattr(sender, "on_failure"):  # a port that reports what it could not send
            sender.on_failure = partial(_undelivered, runtime, channel)
    return runtime


def _undelivered(
    runtime: Runtime, channel: str, to: str, payload: Mapping[str, Any], error: str
) -> None:
    ctx = runtime.context(Door.CLI, actor="delivery")
    delivery.failed(runtime.core, ctx, channel, payload, error)


def load_senders(settings: Settings) -> dict[str, Sender]:
    """Delivery channels (``sms``, ...) from the ``portvakt.channels`` entry points: each names
    a factory that takes the settings and returns a ``Sender``, or None when not configured."""
    senders = {}
    for entry in entry_points(group="portvakt.channels"):
        sender = entry.load()(settings)
        if sender is not None:
            senders[entry.name] = sender
    return senders


def _restrict_sqlite_files(url: str) -> None:
    database = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{database}{suffix}")
        if candidate.exists():
            os.chmod(candidate, 0o600)
