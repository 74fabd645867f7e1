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
        # queued job in one transaction and commits once.
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
        throughput on SQLite's single writer. An exception undoes that job alone and is raised in
        its own caller (see `_run_batch`). A failed commit fails every job of the
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
        # Optimistic first: the jobs run one after another with no savepoints, because a
        # SAVEPOINT and its RELEASE cost about as much as the comment's own INSERT (measured:
        # 0.9 of 5 ms per post in process). Jobs rarely fail (a locked thread, a bad parent); when
        # one does, the transaction rolls back, that job alone fails, and the others run again,
        # each in a savepoint. A failing request thus costs its batch at most one re-run, and the
        # outcome is the one savepoints would give: the jobs before the failed one see the same
        # state, and those after it never see its writes.
        failed = self._attempt(batch, isolate=False)
        if failed is not None:
            rest = [job for job in batch if job is not failed]
            if rest:
                self._attempt(rest, isolate=True)

    def _attempt(self, batch: list[_Job], *, isolate: bool) -> _Job | None:
        """Run `batch` in one transaction, each job in a savepoint if `isolate`; marks every job
        done. Without `isolate`, a job that raises is returned, marked failed, and the others are
        left to run again (nothing of this attempt was committed)."""
        results: list[tuple[_Job, Any]] = []
        running: _Job | None = None
        try:
            with self.write() as store:
                for job in batch:
                    if not isolate:
                        running = job
                        results.append((job, job.work(store)))
                        running = None
                        _still_in_transaction(store)
                        continue
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
        except Exception as exc:
            if running is not None:
                running.error = exc
                running.done = True
                return running
            self._fail_pending(batch, exc)
            return None
        except BaseException as exc:
            self._fail_pending(batch, exc)
            raise
        for job, value in results:  # handed out only now, after the commit
            job.result = value
            job.done = True
        return None

    @staticmethod
    def _fail_pending(batch: list[_Job], exc: BaseException) -> None:
        """Nothing of this batch was committed: every job not already failed fails with it."""
        for job in batch:
            if not job.done:
                job.error = exc
                job.done = True


def _still_in_transaction(store: SqlStore) -> None:
    # A job that ended the shared transaction (say, by a ROLLBACK of its own) would leave the
    # next jobs' writes to autocommit on their own: stop the batch, so that no write is stored
    # that its caller is told failed, nor one acknowledged that was rolled back.
    driver = store.conn.connection.dbapi_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        raise RuntimeError("a grouped write ended the shared transaction")


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
