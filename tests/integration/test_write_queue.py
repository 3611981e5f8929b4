"""``Store.run_write``: jobs from async code, batched into one transaction on SQLite (group
commit) and one transaction each on PostgreSQL. A failing job fails alone; nobody hears an
answer before it is committed; a closed store refuses new jobs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from portvakt.store.db import Store
from portvakt.store.models import Base


@pytest.fixture
def store(db_url: str) -> Store:
    created = Store(db_url)
    Base.metadata.create_all(created.engine)
    with created.write() as s:
        s.execute(text("CREATE TABLE note (n INTEGER PRIMARY KEY)"))
    return created


def _insert(n: int) -> Callable[[Session], int]:
    def job(s: Session) -> int:
        s.execute(text("INSERT INTO note (n) VALUES (:n)"), {"n": n})
        return n

    return job


def _notes(store: Store) -> list[int]:
    with store.read() as s:
        return [row[0] for row in s.execute(text("SELECT n FROM note ORDER BY n"))]


def test_many_jobs_at_once_all_commit(store: Store) -> None:
    async def run() -> list[int]:
        return list(await asyncio.gather(*(store.run_write(_insert(n)) for n in range(50))))

    try:
        assert asyncio.run(run()) == list(range(50))
        assert _notes(store) == list(range(50))
    finally:
        store.dispose()


def test_a_failing_job_fails_alone(store: Store) -> None:
    async def run() -> list[object]:
        jobs = [_insert(n) for n in range(10)]
        jobs[4] = _insert(3)  # a duplicate key: this one fails
        return list(
            await asyncio.gather(*(store.run_write(j) for j in jobs), return_exceptions=True)
        )

    try:
        answers = asyncio.run(run())
        failed = [i for i, a in enumerate(answers) if isinstance(a, Exception)]
        # SQLite runs them in order (the later duplicate fails); PostgreSQL at the same time
        assert failed == [4] if store.is_sqlite else failed in ([3], [4])
        assert _notes(store) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    finally:
        store.dispose()


def test_answers_come_after_the_commit(store: Store) -> None:
    """What a caller is told has been committed: another connection already sees it."""

    def job(s: Session) -> int:
        s.execute(text("INSERT INTO note (n) VALUES (1)"))
        return 1

    async def run() -> list[int]:
        await store.run_write(job)
        return _notes(store)

    try:
        assert asyncio.run(run()) == [1]
    finally:
        store.dispose()


def test_sqlite_jobs_run_on_one_writer_thread(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    seen: set[int] = set()

    def job(s: Session) -> None:
        seen.add(threading.get_ident())

    async def run() -> None:
        await asyncio.gather(*(store.run_write(job) for _ in range(20)))

    try:
        asyncio.run(run())
        assert len(seen) == 1 and threading.get_ident() not in seen
    finally:
        store.dispose()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(store.run_write(job))
