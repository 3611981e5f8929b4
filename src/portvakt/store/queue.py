"""SQLite's write queue for async callers: one writer thread per process, group commit.

SQLite takes one writer at a time anyway (``BEGIN IMMEDIATE``), so instead of a worker
thread per request each checking out a connection, beginning, committing and handing the lock
on, async callers put their job on a queue. The writer thread takes every job waiting at that
moment (up to ``MAX_BATCH``), runs them one after the other in one transaction on its own
long-lived connection, commits once, and only then hands each caller its answer. A busy server
thus pays one ``BEGIN``, one commit and one lock hand-over per batch. A job that raises rolls
the batch back, and the jobs are then run again one per transaction, so a failing job never
takes the others with it (jobs must only touch the database: they may run twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_BATCH = 64
log = logging.getLogger("portvakt.store")


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    job: Callable[[Session], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


class WriteQueue:
    def __init__(self, bind: Engine, lock: threading.Lock) -> None:
        self._bind = bind  # the engine with ``BEGIN IMMEDIATE``
        self._lock = lock  # the store's write mutex, shared with ``Store.write``
        self._items: queue.SimpleQueue[_Item[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._stopped = False
        self._connection: Connection | None = None  # the writer thread's own

    async def run(self, job: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._start()
        self._items.put(_Item(job, future, loop))
        return await future

    def stop(self) -> None:
        with self._guard:
            self._stopped = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._items.put(None)
            thread.join(timeout=30)

    def _start(self) -> None:
        with self._guard:
            if self._stopped:
                raise RuntimeError("the store is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="portvakt-sqlite-writer", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        try:
            while True:
                first = self._items.get()
                if first is None:
                    return
                batch, more = self._take(first)
                self._run(batch)
                if not more:
                    return
        finally:
            self._disconnect()
            self._refuse_the_rest()

    def _refuse_the_rest(self) -> None:
        """Jobs that slipped in while the store was closing get an error, not silence."""
        while True:
            try:
                item = self._items.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                _settle(item, None, RuntimeError("the store is closed"))

    def _take(self, first: _Item[Any]) -> tuple[list[_Item[Any]], bool]:
        """The first item and every one waiting behind it; False once told to stop."""
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._items.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, False
            batch.append(item)
        return batch, True

    def _run(self, batch: list[_Item[Any]]) -> None:
        try:
            results = self._transaction([item.job for item in batch])
        except Exception as exc:
            self._disconnect()  # a fresh connection for what follows
            if len(batch) == 1:
                _settle(batch[0], None, exc)
                return
            for item in batch:  # one at a time, so one failing job fails alone
                try:
                    (result,) = self._transaction([item.job])
                except Exception as alone:
                    self._disconnect()
                    _settle(item, None, alone)
                else:
                    _settle(item, result, None)
            return
        _settle_all(batch, results)

    def _transaction(self, jobs: list[Callable[[Session], Any]]) -> list[Any]:
        with self._lock:
            if self._connection is None:
                self._connection = self._bind.connect()
            with (
                Session(bind=self._connection, expire_on_commit=False) as session,
                session.begin(),
            ):
                return [job(session) for job in jobs]

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.close()
        except Exception:  # already broken: the next transaction opens a new one
            log.debug("closing the writer connection failed", exc_info=True)


def _settle(item: _Item[Any], result: Any, error: BaseException | None) -> None:
    """Hand one answer to the caller's event loop (from the writer thread)."""

    def settle() -> None:
        if item.future.done():  # the caller gave up (cancelled)
            return
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the caller's loop is closed
        item.loop.call_soon_threadsafe(settle)


def _settle_all(batch: list[_Item[Any]], results: list[Any]) -> None:
    """Hand a committed batch's answers over with one wake-up of each event loop, rather than
    one per job (each ``call_soon_threadsafe`` writes to the loop's self-pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Item[Any], Any]]] = {}
    for item, result in zip(batch, results, strict=True):
        by_loop.setdefault(item.loop, []).append((item, result))

    def settle(pairs: list[tuple[_Item[Any], Any]]) -> None:
        for item, result in pairs:
            if not item.future.done():  # not cancelled by the caller
                item.future.set_result(result)

    for loop, pairs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed
            loop.call_soon_threadsafe(settle, pairs)
