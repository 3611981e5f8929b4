"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from portvakt.store.queue import WriteQueue

T = TypeVar("T")


class Store:
    """Holds the engine; the core opens transactions with :meth:`read` and :meth:`write`, or
    hands a short write to :meth:`run_write` from async code."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url, echo=echo)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        writer_bind = self.engine.execution_options(portvakt_immediate=True)
        self._writer = sessionmaker(writer_bind, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._queue = WriteQueue(writer_bind, self._write_lock) if self._write_lock else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that will write. On SQLite it takes the write lock up front
        (``BEGIN IMMEDIATE``) so two writers never deadlock on a lock upgrade, and writers of
        this process queue on a mutex first: SQLite's busy handler sleeps with back-off
        instead of waking when the lock is free, which under load cost most of a request's
        time (bench/README.md)."""
        if self._write_lock is None:
            with self._writer.begin() as session:
                yield session
            return
        with self._write_lock, self._writer.begin() as session:
            yield session

    async def run_write(self, job: Callable[[Session], T]) -> T:
        """``job(session)`` in a write transaction, without blocking the event loop; its
        result, or its exception. For short jobs that only touch the database (a code check).

        On SQLite the job goes to this process's writer thread, which runs every job waiting
        at that moment in one transaction on its own connection (group commit; under the same
        mutex as :meth:`write`), so a busy server pays for one ``BEGIN IMMEDIATE`` and one
        commit per batch instead of per request, and no connection is checked out per job. A
        job's changes are never visible to another job's caller before they are committed: the
        answers are handed out after the commit. On PostgreSQL it runs in a worker thread in a
        transaction of its own, as :meth:`write` would."""
        if self._queue is not None:
            return await self._queue.run(job)
        from anyio import to_thread

        return await to_thread.run_sync(self._write_one, job)

    def _write_one(self, job: Callable[[Session], T]) -> T:
        with self.write() as session:
            return job(session)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    def dispose(self) -> None:
        if self._queue is not None:
            self._queue.stop()
        self.engine.dispose()


def _make_engine(url: str, *, echo: bool) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("portvakt_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
