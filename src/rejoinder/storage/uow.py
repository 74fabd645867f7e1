"""Transactions for services: `SqlUnitOfWork.read()` / `.write()` yield a `SqlStore`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from rejoinder.domain.errors import Unavailable
from rejoinder.storage.engine import Database
from rejoinder.storage.repositories import SqlStore

T = TypeVar("T")

# A batch is bounded so one caller never waits behind an unbounded queue of others' work.
MAX_GROUP = 64


class _Job:
    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[SqlStore], Any]) -> None:
        self.work = work
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class SqlUnitOfWork:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Group commit (ADR 0017): callers queue their work; whoever holds `_leader` runs every
        # queued job in one transaction, each inside its own savepoint, and commits once.
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Job] = []

    @contextmanager
    def read(self) -> Iterator[SqlStore]:
        with _unavailable_on_disconnect(), self.db.reader.connect() as conn, conn.begin():
            yield SqlStore(conn)

    @contextmanager
    def write(self) -> Iterator[SqlStore]:
        """One transaction: committed when the block ends normally, rolled back on any error."""
        with _unavailable_on_disconnect(), self.db.writer.connect() as conn, conn.begin():
            yield SqlStore(conn)

    def write_grouped(self, work: Callable[[SqlStore], T]) -> T:
        """Run `work` in a write transaction shared with concurrent callers; return after commit.

        On SQLite, while one batch commits (an fsync), new callers queue up; the next leader takes
        them all. One commit then acknowledges many comments, which is what bounds posting
        throughput on SQLite's single writer. Each job runs in a savepoint: an exception undoes
        that job alone and is raised in its own caller. A failed commit fails every job of the
        batch, so nothing is reported stored that was not.
        """
        if self.db.dialect != "sqlite":
            # PostgreSQL commits concurrent transactions in parallel, so grouping gains nothing
            # there (measured), and batches from two processes could lock thread rows in
            # opposite orders and deadlock. Each work gets a transaction of its own.
            with self.write() as store:
                return work(store)
        job = _Job(work)
        with self._queue_lock:
            self._queue.append(job)
        while not job.done:
            with self._leader:
                if job.done:  # an earlier leader ran it while we waited for the lock
                    break
                with self._queue_lock:
                    batch, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                self._run_batch(batch)
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def _run_batch(self, batch: list[_Job]) -> None:
        results: list[tuple[_Job, Any]] = []
        try:
            with self.write() as store:
                for job in batch:
                    savepoint = store.conn.begin_nested()
                    try:
                        value = job.work(store)
                    except Exception as exc:
                        savepoint.rollback()
                        job.error = exc
                        job.done = True
                    else:
                        savepoint.commit()
                        results.append((job, value))
        except BaseException as exc:
            # Nothing of this batch was committed: every job not already failed fails with it.
            for job in batch:
                if not job.done:
                    job.error = exc
                    job.done = True
            if not isinstance(exc, Exception):
                raise
            return
        for job, value in results:  # handed out only now, after the commit
            job.result = value
            job.done = True


@contextmanager
def _unavailable_on_disconnect() -> Iterator[None]:
    # A lost or refused database connection is not the client's fault: answer 503 + Retry-After
    # (the web layer's mapping of Unavailable) rather than a 500; the pool reconnects next time.
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise Unavailable("the database is unavailable; retry shortly") from exc
        if isinstance(exc, OperationalError) and _is_connection_error(exc):
            raise Unavailable("the database is unavailable; retry shortly") from exc
        raise


def _is_connection_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(
        s in text
        for s in ("connection", "server closed", "terminating", "could not connect", "shutting down")
    )
