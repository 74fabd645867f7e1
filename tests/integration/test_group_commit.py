"""Group commit (ADR 0017): concurrent writers share a transaction, and each is told the truth.

Grouping happens on SQLite (one writer); on PostgreSQL each work has a transaction of its own,
and the same promises hold. The batches are made deterministic by holding the unit of work's
leader lock while the callers queue up, which is exactly the situation under load: a batch is
committing while others arrive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text

from rejoinder.domain.errors import InvalidInput
from rejoinder.storage.engine import Database, migrate
from rejoinder.storage.repositories import SqlStore
from rejoinder.storage.tables import SiteRow, ThreadRow
from rejoinder.storage.uow import MAX_GROUP, SqlUnitOfWork

sites = SiteRow.__table__
threads = ThreadRow.__table__


@pytest.fixture
def uow(db_url: str) -> Iterator[SqlUnitOfWork]:
    """On either database."""
    db = Database(db_url)
    yield SqlUnitOfWork(db)
    db.dispose()


@pytest.fixture
def sqlite_uow(tmp_path: Path) -> Iterator[SqlUnitOfWork]:
    url = f"sqlite:///{tmp_path / 'group.sqlite3'}"
    migrate(url)
    db = Database(url)
    yield SqlUnitOfWork(db)
    db.dispose()


def add_site(slug: str) -> Callable[[SqlStore], str]:
    def work(store: SqlStore) -> str:
        store.conn.execute(insert(sites).values(
            slug=slug, name=slug, origins=[], settings={}, created_at=datetime.now(UTC)))
        return slug
    return work


def stored_slugs(uow: SqlUnitOfWork) -> set[str]:
    with uow.read() as store:
        return set(store.conn.execute(select(sites.c.slug)).scalars())


def run_as_one_batch(uow: SqlUnitOfWork, works: list[Callable[[SqlStore], Any]]) -> list[Any]:
    """Queue every work from its own thread while a batch is "committing", then let them run.

    Returns, per work, its result or the exception its caller received. On PostgreSQL nothing
    queues: the works run one after another, each in its own transaction.
    """
    if uow.db.dialect != "sqlite":
        return [_outcome(uow, work) for work in works]
    outcomes: list[Any] = [None] * len(works)

    def call(i: int) -> None:
        try:
            outcomes[i] = uow.write_grouped(works[i])
        except Exception as exc:
            outcomes[i] = exc

    callers = []
    with uow._leader:
        for i in range(len(works)):
            t = threading.Thread(target=call, args=(i,))
            t.start()
            callers.append(t)
            deadline = time.monotonic() + 10
            while len(uow._queue) < i + 1:  # queued in this order
                assert time.monotonic() < deadline, "caller did not queue"
                time.sleep(0.001)
    for t in callers:
        t.join(10)
        assert not t.is_alive()
    return outcomes


def _outcome(uow: SqlUnitOfWork, work: Callable[[SqlStore], Any]) -> Any:
    try:
        return uow.write_grouped(work)
    except Exception as exc:
        return exc


def count_commits(uow: SqlUnitOfWork) -> list[int]:
    commits = [0]

    def on_commit(_conn: Any) -> None:
        commits[0] += 1

    event.listen(uow.db.writer, "commit", on_commit)
    return commits


def test_concurrent_writes_share_one_commit(sqlite_uow: SqlUnitOfWork) -> None:
    uow = sqlite_uow
    commits = count_commits(uow)
    slugs = [f"site-{i}" for i in range(8)]
    outcomes = run_as_one_batch(uow, [add_site(s) for s in slugs])
    assert outcomes == slugs
    assert commits[0] == 1
    assert stored_slugs(uow) == set(slugs)


def test_a_failing_write_is_undone_alone_and_raised_in_its_own_caller(uow: SqlUnitOfWork) -> None:
    def add_then_fail(store: SqlStore) -> str:
        add_site("doomed")(store)
        raise InvalidInput("no such parent", code="invalid_parent")

    outcomes = run_as_one_batch(uow, [add_site("first"), add_then_fail, add_site("last")])
    assert outcomes[0] == "first" and outcomes[2] == "last"
    assert isinstance(outcomes[1], InvalidInput)
    assert stored_slugs(uow) == {"first", "last"}


def test_when_the_batch_fails_no_caller_is_told_its_write_was_stored(
    sqlite_uow: SqlUnitOfWork,
) -> None:
    uow = sqlite_uow
    # A work that ends the shared transaction behind its back: the batch cannot commit, so the
    # work that had already succeeded must get an error too, never its result.
    def sabotage(store: SqlStore) -> None:
        store.conn.exec_driver_sql("ROLLBACK")

    outcomes = run_as_one_batch(uow, [add_site("acknowledged?"), sabotage, add_site("after")])
    assert all(isinstance(o, Exception) for o in outcomes), outcomes
    assert stored_slugs(uow) == set()
    # The writer is usable again afterwards.
    assert uow.write_grouped(add_site("again")) == "again"
    assert stored_slugs(uow) == {"again"}


def test_a_commit_that_fails_fails_every_caller(sqlite_uow: SqlUnitOfWork) -> None:
    # SQLite checks deferred foreign keys at COMMIT: a real failure of the commit itself.
    uow = sqlite_uow

    def orphan_thread(store: SqlStore) -> str:
        store.conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        store.conn.execute(insert(threads).values(
            site_id=999, key="/orphan", locked=False, comment_count=0,
            created_at=datetime.now(UTC)))
        return "orphan"

    outcomes = run_as_one_batch(uow, [add_site("innocent"), orphan_thread])
    assert all(isinstance(o, Exception) for o in outcomes), outcomes
    assert "FOREIGN KEY" in str(outcomes[0])
    assert stored_slugs(uow) == set()
    with uow.read() as store:
        assert store.conn.execute(text("SELECT count(*) FROM threads")).scalar() == 0


def test_more_callers_than_a_batch_holds_are_all_served(sqlite_uow: SqlUnitOfWork) -> None:
    uow = sqlite_uow
    n = MAX_GROUP + 5
    commits = count_commits(uow)
    outcomes = run_as_one_batch(uow, [add_site(f"s{i}") for i in range(n)])
    assert outcomes == [f"s{i}" for i in range(n)]
    assert commits[0] == 2
    assert len(stored_slugs(uow)) == n


def test_on_postgresql_each_work_commits_alone(pg_url: str) -> None:
    # Batches from two server processes could lock thread rows in opposite orders (deadlock),
    # and PostgreSQL commits concurrent transactions in parallel anyway.
    db = Database(pg_url)
    uow = SqlUnitOfWork(db)
    try:
        commits = count_commits(uow)
        outcomes = [_outcome(uow, add_site(f"pg-{i}")) for i in range(3)]
        assert outcomes == ["pg-0", "pg-1", "pg-2"]
        assert commits[0] == 3
        assert not uow._queue
    finally:
        db.dispose()


def count_savepoints(uow: SqlUnitOfWork) -> list[int]:
    savepoints = [0]

    def on_savepoint(*_: Any) -> None:
        savepoints[0] += 1

    event.listen(uow.db.writer, "savepoint", on_savepoint)
    return savepoints


def test_a_batch_that_all_succeeds_runs_without_savepoints(sqlite_uow: SqlUnitOfWork) -> None:
    # Savepoints cost about as much as a comment's INSERT; they are only for batches with a
    # failure (ADR 0017, addendum).
    uow = sqlite_uow
    commits, savepoints = count_commits(uow), count_savepoints(uow)
    outcomes = run_as_one_batch(uow, [add_site(f"ok-{i}") for i in range(5)])
    assert outcomes == [f"ok-{i}" for i in range(5)]
    assert (commits[0], savepoints[0]) == (1, 0)


def test_after_a_failure_the_others_run_again_each_in_a_savepoint(
    sqlite_uow: SqlUnitOfWork,
) -> None:
    uow = sqlite_uow
    commits, savepoints = count_commits(uow), count_savepoints(uow)
    seen: dict[str, set[str]] = {}

    def fails(name: str) -> Callable[[SqlStore], str]:
        def work(store: SqlStore) -> str:
            add_site(name)(store)
            raise InvalidInput(f"{name} is refused", code="invalid_parent")
        return work

    def look(name: str) -> Callable[[SqlStore], str]:
        def work(store: SqlStore) -> str:
            seen[name] = set(store.conn.execute(select(sites.c.slug)).scalars())
            return add_site(name)(store)
        return work

    outcomes = run_as_one_batch(
        uow, [look("a"), fails("bad-1"), look("b"), fails("bad-2"), look("c")])
    assert [outcomes[0], outcomes[2], outcomes[4]] == ["a", "b", "c"]
    assert str(outcomes[1]) == "bad-1 is refused" and str(outcomes[3]) == "bad-2 is refused"
    # The first failure ends the optimistic attempt; the re-run isolates the second one.
    assert (commits[0], savepoints[0]) == (1, 4)
    # Each job saw what it would have seen with savepoints from the start: never a failed write.
    assert seen == {"a": set(), "b": {"a"}, "c": {"a", "b"}}
    assert stored_slugs(uow) == {"a", "b", "c"}
