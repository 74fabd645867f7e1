"""The per-post author checks use an index on both databases, whatever the archive's size.

Every post asks for the author's latest comments on the site and whether the author has a
published one (flood, duplicate and first-comment rules). Before migration 0008 both searched
all of the site's comments; before 0009 the latest comments were all of the author's, sorted. This captures the exact SQL the repository sends and asks each
database for its plan (PostgreSQL with sequential scans discouraged: on a near-empty table it
would rightly prefer one, and the question is whether an index serves the query at all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text

from rejoinder.storage.repositories import SqlStore


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    engine = create_engine(db_url)
    with engine.connect() as c:
        yield c
    engine.dispose()


def _plan(conn: Connection, call: Callable[[SqlStore], Any]) -> str:
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, params))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        call(SqlStore(conn))
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    (statement, params), = sent
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    if conn.dialect.name == "sqlite":
        cur.execute(f"EXPLAIN QUERY PLAN {statement}", params)
        return "\n".join(str(row[-1]) for row in cur.fetchall())
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    cur.execute(f"EXPLAIN {statement}", params)
    return "\n".join(str(row[0]) for row in cur.fetchall())


@pytest.mark.parametrize(("check", "index"), [
    (lambda s: s.recent_by_author(1, "a" * 64, None), "ix_comments_site_ip_recent"),
    (lambda s: s.has_published(1, "a" * 64, None), "ix_comments_site_ip"),
    (lambda s: s.recent_by_author(1, "a" * 64, 7), "ix_comments_author_recent"),
    (lambda s: s.has_published(1, "a" * 64, 7), "ix_comments_author"),
], ids=["recent-by-address", "published-by-address", "recent-by-account",
        "published-by-account"])
def test_author_checks_search_an_author_index(conn: Connection, check: Callable[[SqlStore], Any],
                                              index: str) -> None:
    with conn.begin():
        plan = _plan(conn, check)
    assert index in plan, plan
    # The latest comments come in index order: no sort of the author's whole history
    # (SQLite: "USE TEMP B-TREE FOR ORDER BY"; PostgreSQL: a Sort node).
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
