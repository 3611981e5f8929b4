"""Notifier over PostgreSQL LISTEN/NOTIFY, for several instances sharing one database.

Per process: one async connection that LISTENs (on the event loop, no thread), and one small
synchronous autocommit connection, behind a lock, that runs ``pg_notify`` for publishers on
worker threads. NOTIFY is database-wide: the schema in the application's URL does not matter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from portvakt.channels.notify.relay import RelayNotifier

log = logging.getLogger("portvakt.channels.notify")


def conninfo_from_url(url: str) -> str:
    """A libpq conninfo string from a SQLAlchemy URL such as
    ``postgresql+psycopg://user:pw@host:5432/db?options=-csearch_path%3Dx``."""
    parts = urlsplit(url)
    if parts.scheme.split("+", 1)[0] not in {"postgresql", "postgres"}:
        raise ValueError("not a PostgreSQL URL")
    params: dict[str, str] = {}
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password is not None:
        params["password"] = unquote(parts.password)
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    if parts.port is not None:
        params["port"] = str(parts.port)
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.strip("/"))
    params.update(parse_qsl(parts.query, keep_blank_values=True))
    try:
        return make_conninfo("", **params)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"unusable PostgreSQL URL: {exc}") from None


class PostgresNotifier(RelayNotifier):
    """``publish`` runs ``SELECT pg_notify(topic, payload)``; the listener LISTENs on topic."""

    kind = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        topic: str = "portvakt",
        connect_timeout: int = 5,
        ping_interval: float = 30.0,
    ) -> None:
        super().__init__(topic=topic)
        defaults = {"connect_timeout": str(connect_timeout), "application_name": "portvakt"}
        given = conninfo_to_dict(dsn)
        self._conninfo = make_conninfo(
            dsn, **{key: value for key, value in defaults.items() if key not in given}
        )
        self._ping_interval = ping_interval
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[TupleRow] | None = None

    def _send(self, payload: str) -> None:
        with self._lock:
            # A kept connection may have been closed by the server while idle: retry once.
            if self._conn is not None:
                try:
                    self._notify(payload)
                except psycopg.Error:
                    self._discard()
                else:
                    return
            try:
                self._notify(payload)
            except psycopg.Error:
                self._discard()
                raise

    def _notify(self, payload: str) -> None:
        if self._conn is None:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        self._conn.execute("SELECT pg_notify(%s, %s)", (self.topic, payload))

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _close_sender(self) -> None:
        with self._lock:
            self._discard()

    async def _listen(self, ready: Callable[[], None]) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.topic)))
            ready()
            while True:
                async for notify in conn.notifies(timeout=self._ping_interval):
                    self._receive(notify.payload)
                await conn.execute("SELECT 1")  # a quiet connection may be a dead one
        finally:
            await conn.close()
