"""Bulk writes for importers (issue 5): staged comments become a thread tree in a few statements.

Comments from another system arrive in any order (replies before their parents, parents that
never arrive, duplicates). They are written in batches to a temporary staging table, then moved
into `comments` by set-based SQL, so memory stays flat whatever the file size:

1. drop duplicates within the file and comments imported before (`source_key`, idempotency);
2. walk the reply tree with a recursive CTE: depth, root, and an effective time that is never
   earlier than the parent's, so that
3. new ids follow time *and* put every parent before its replies (`build_tree` relies on it);
4. one INSERT … SELECT with parent and root ids resolved, then counters recomputed in SQL for
   the touched threads only.

Everything runs on the caller's connection, inside the caller's transaction: a failure anywhere
rolls the whole import back. Temporary tables are dropped before the caller commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from rejoinder.storage.tables import (
    AuditRow,
    BanRow,
    CommentRow,
    FlagRow,
    SiteRow,
    ThreadRow,
    UTCDateTime,
    VoteRow,
)

TABLES: dict[str, Table] = {
    "site": cast(Table, SiteRow.__table__),
    "thread": cast(Table, ThreadRow.__table__),
    "comment": cast(Table, CommentRow.__table__),
    "vote": cast(Table, VoteRow.__table__),
    "flag": cast(Table, FlagRow.__table__),
    "ban": cast(Table, BanRow.__table__),
    "audit": cast(Table, AuditRow.__table__),
}
threads = TABLES["thread"]
comments = TABLES["comment"]

# Temporary tables live in their own MetaData: Alembic never sees them.
_tmp = MetaData()
staging = Table(
    "rj_import_staging", _tmp,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("source_key", String(200), nullable=False),
    Column("parent_key", String(200)),
    Column("thread_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("body_md", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("author_name", String(100)),
    Column("author_email", String(254)),
    Column("is_guest", Boolean, nullable=False),
    Column("ip_hash", String(64)),
    Column("moderation", JSON),
    Column("score", Integer, nullable=False),
    Column("upvotes", Integer, nullable=False),
    Column("downvotes", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
_tree = Table(
    "rj_import_tree", _tmp,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("depth", Integer, nullable=False),
    Column("eff", UTCDateTime, nullable=False),
    Column("root_seq", Integer),
    Column("parent_seq", Integer),
    Column("parent_existing", BigInteger),
    Column("root_existing", BigInteger),
    prefixes=["TEMPORARY"],
)
_ids = Table(
    "rj_import_ids", _tmp,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("new_id", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)
_touched = Table(
    "rj_import_threads", _tmp,
    Column("thread_id", Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)
_counts = Table(
    "rj_import_counts", _tmp,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_TEMP_TABLES = (staging, _tree, _ids, _touched, _counts)
# Built after the load (cheaper than maintaining them row by row).
_STAGING_INDEXES = (
    "CREATE INDEX rj_import_staging_source ON rj_import_staging (source_key)",
    "CREATE INDEX rj_import_staging_parent ON rj_import_staging (parent_key, thread_id)",
)


@dataclass
class FinishStats:
    """What the move from staging into `comments` did."""

    inserted: dict[str, int] = field(default_factory=dict)  # by status
    duplicates: int = 0  # the same source id twice in the file
    existing: int = 0  # imported by an earlier run
    orphans: int = 0  # parent missing (or a reply cycle): kept as top-level comments


class CommentStager:
    """Collects imported comments in batches, then builds the tree in SQL (see module doc)."""

    def __init__(self, conn: Connection, site_id: int, *, batch_size: int = 2000) -> None:
        self.conn = conn
        self.site_id = site_id
        self.batch_size = batch_size
        self._batch: list[dict[str, Any]] = []
        self._seq = 0
        self._threads: set[int] = set()
        self.threads_created = 0
        for table in _TEMP_TABLES:
            table.drop(conn, checkfirst=True)  # a leftover from a crashed run on this connection
            table.create(conn)

    # -- threads -----------------------------------------------------------------------------
    def thread(
        self, key: str, title: str | None, url: str | None, created_at: datetime, locked: bool
    ) -> int:
        """The id of the site's thread with this key, created if new (existing ones keep theirs)."""
        found = self.conn.execute(
            select(threads.c.id, threads.c.title, threads.c.url).where(
                threads.c.site_id == self.site_id, threads.c.key == key
            )
        ).first()
        if found is None:
            thread_id = int(self.conn.execute(
                insert(threads).values(
                    site_id=self.site_id, key=key, title=title, url=url, locked=locked,
                    comment_count=0, created_at=created_at,
                ).returning(threads.c.id)
            ).scalar_one())
            self.threads_created += 1
        else:
            thread_id = int(found.id)
            if (title and not found.title) or (url and not found.url):
                self.conn.execute(
                    update(threads).where(threads.c.id == thread_id)
                    .values(title=found.title or title, url=found.url or url)
                )
        if thread_id not in self._threads:
            self._threads.add(thread_id)
            self.conn.execute(insert(_touched).values(thread_id=thread_id))
        return thread_id

    # -- comments ----------------------------------------------------------------------------
    def add(self, row: dict[str, Any]) -> None:
        """Stage one comment (keys: the columns of the staging table except `seq`)."""
        self._seq += 1
        row["seq"] = self._seq
        self._batch.append(row)
        if len(self._batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            _insert_staging(self.conn, self._batch)
            self._batch = []

    def finish(self) -> FinishStats:
        """Move staged comments into `comments`, resolve the tree, fix counters; drop temp tables."""
        self.flush()
        for ddl in _STAGING_INDEXES:
            self.conn.execute(text(ddl))
        stats = FinishStats()
        stats.duplicates = self._execute(
            "DELETE FROM rj_import_staging WHERE EXISTS (SELECT 1 FROM rj_import_staging d "
            "WHERE d.source_key = rj_import_staging.source_key AND d.seq < rj_import_staging.seq)"
        )
        stats.existing = self._execute(
            "DELETE FROM rj_import_staging WHERE EXISTS (SELECT 1 FROM comments c "
            "WHERE c.site_id = :site AND c.source_key = rj_import_staging.source_key)"
        )
        stats.orphans = self._build_tree()
        lock_for_ids(self.conn, "comments")
        self._assign_ids()
        self._move()
        stats.inserted = {
            r.status: int(r.n) for r in self.conn.execute(
                text("SELECT status, count(*) AS n FROM rj_import_staging GROUP BY status")
            )
        }
        self._recount()
        bump_sequences(self.conn, ["comments"])
        for table in reversed(_TEMP_TABLES):
            table.drop(self.conn)
        return stats

    def _execute(self, sql: str, **params: Any) -> int:
        result = self.conn.execute(text(sql), {"site": self.site_id, **params})
        return int(result.rowcount or 0)

    def _build_tree(self) -> int:
        """Fill rj_import_tree; return how many comments lost a missing or cyclic parent."""
        # Anchors: top-level comments, and replies whose parent is not staged in the same thread
        # (an earlier import's comment, or missing from the file: then they become top-level).
        self._execute("""
WITH RECURSIVE tree(seq, source_key, thread_id, depth, eff, root_seq, parent_seq,
                    parent_existing, root_existing) AS (
  SELECT s.seq, s.source_key, s.thread_id, 0, s.created_at,
         CASE WHEN e.id IS NULL THEN s.seq END, CAST(NULL AS INTEGER),
         CAST(e.id AS BIGINT), CAST(e.root_id AS BIGINT)
  FROM rj_import_staging s
  LEFT JOIN comments e ON e.site_id = :site AND e.source_key = s.parent_key
                      AND e.thread_id = s.thread_id
  WHERE s.parent_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM rj_import_staging p
    WHERE p.source_key = s.parent_key AND p.thread_id = s.thread_id AND p.seq <> s.seq)
  UNION ALL
  SELECT c.seq, c.source_key, c.thread_id, t.depth + 1,
         CASE WHEN c.created_at > t.eff THEN c.created_at ELSE t.eff END,
         t.root_seq, t.seq, CAST(NULL AS BIGINT), t.root_existing
  FROM rj_import_staging c JOIN tree t ON c.parent_key = t.source_key
                                      AND c.thread_id = t.thread_id AND c.seq <> t.seq
)
INSERT INTO rj_import_tree (seq, depth, eff, root_seq, parent_seq, parent_existing, root_existing)
SELECT seq, depth, eff, root_seq, parent_seq, parent_existing, root_existing FROM tree
""")
        # Never reached from an anchor: members of a reply cycle (corrupt data). Top-level too.
        self._execute("""
INSERT INTO rj_import_tree (seq, depth, eff, root_seq)
SELECT s.seq, 0, s.created_at, s.seq FROM rj_import_staging s
WHERE NOT EXISTS (SELECT 1 FROM rj_import_tree t WHERE t.seq = s.seq)
""")
        missing = self.conn.execute(text("""
SELECT count(*) FROM rj_import_tree t JOIN rj_import_staging s ON s.seq = t.seq
WHERE t.depth = 0 AND s.parent_key IS NOT NULL AND t.parent_existing IS NULL
""")).scalar_one()
        # This counts the cyclic ones too: they are depth-0 rows with a parent key now.
        return int(missing)

    def _assign_ids(self) -> None:
        base = self.conn.execute(select(comments.c.id).order_by(comments.c.id.desc()).limit(1))
        start = base.scalar() or 0
        # Time order, parents first (a reply's effective time is never before its parent's).
        self._execute(
            "INSERT INTO rj_import_ids (seq, new_id) SELECT seq, "
            ":start + row_number() OVER (ORDER BY eff, depth, seq) FROM rj_import_tree",
            start=start,
        )

    def _move(self) -> None:
        self._execute("""
INSERT INTO comments (id, site_id, thread_id, parent_id, root_id, status, body_md, body_html,
  author_name, author_email, is_guest, ip_hash, moderation, score, upvotes, downvotes,
  reply_count, flag_count, source_key, created_at, edited_at)
SELECT i.new_id, :site, s.thread_id, COALESCE(pi.new_id, t.parent_existing),
  COALESCE(ri.new_id, t.root_existing), s.status, s.body_md, s.body_html,
  s.author_name, s.author_email, s.is_guest, s.ip_hash, s.moderation, s.score, s.upvotes,
  s.downvotes, 0, 0, s.source_key, s.created_at, s.edited_at
FROM rj_import_staging s
JOIN rj_import_tree t ON t.seq = s.seq
JOIN rj_import_ids i ON i.seq = s.seq
LEFT JOIN rj_import_ids pi ON pi.seq = t.parent_seq
LEFT JOIN rj_import_ids ri ON ri.seq = t.root_seq
ORDER BY i.new_id
""")

    def _recount(self) -> None:
        """Published replies per parent and published comments per thread, for touched threads."""
        self._execute("""
INSERT INTO rj_import_counts (id, n)
SELECT parent_id, count(*) FROM comments
WHERE thread_id IN (SELECT thread_id FROM rj_import_threads)
  AND status = 'published' AND parent_id IS NOT NULL
GROUP BY parent_id
""")
        self._execute("""
UPDATE comments SET reply_count = (SELECT n FROM rj_import_counts k WHERE k.id = comments.id)
WHERE id IN (SELECT id FROM rj_import_counts)
""")
        self._execute("""
UPDATE threads SET comment_count = (
  SELECT count(*) FROM comments c WHERE c.thread_id = threads.id AND c.status = 'published')
WHERE id IN (SELECT thread_id FROM rj_import_threads)
""")


_STAGING_COLUMNS = tuple(c.name for c in staging.columns)


def _insert_staging(conn: Connection, batch: list[dict[str, Any]]) -> None:
    """executemany straight to the driver: the hot path of an import (SQLAlchemy's per-row
    parameter processing costs more than the insert itself).

    The one dialect branch: SQLite gets datetimes in SQLAlchemy's own text format (what
    `UTCDateTime` stores), PostgreSQL gets aware datetimes; JSON goes in as text on both.
    """
    cols = _STAGING_COLUMNS
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    sql = (f"INSERT INTO rj_import_staging ({', '.join(cols)}) "  # noqa: S608  # fixed names
           f"VALUES ({', '.join([mark] * len(cols))})")
    rows = []
    for row in batch:
        values: list[Any] = [row.get(c) for c in cols]
        for i in (_CREATED, _EDITED):
            when = values[i]
            if when is not None:
                values[i] = _sqlite_time(when) if sqlite_ else when.astimezone(UTC)
        if values[_MODERATION] is not None:
            values[_MODERATION] = json.dumps(values[_MODERATION])
        rows.append(tuple(values))
    conn.exec_driver_sql(sql, rows)


_CREATED = _STAGING_COLUMNS.index("created_at")
_EDITED = _STAGING_COLUMNS.index("edited_at")
_MODERATION = _STAGING_COLUMNS.index("moderation")


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime format, in UTC (as UTCDateTime.process_bind_param does).
    v = value.astimezone(UTC)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}.{v.microsecond:06d}")


def lock_for_ids(conn: Connection, table: str) -> None:
    """Keep other writers from taking ids while an import assigns them (SQLite: already held).

    On SQLite the import's transaction began with BEGIN IMMEDIATE and holds the write lock. On
    PostgreSQL, EXCLUSIVE blocks concurrent writes to the table (reads go on) until commit.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f'LOCK TABLE "{_known(table)}" IN EXCLUSIVE MODE'))


def bump_sequences(conn: Connection, tables: Iterable[str]) -> None:
    """After inserting explicit ids: make PostgreSQL's next id follow the largest one.

    SQLite needs nothing (an INTEGER PRIMARY KEY continues after the largest rowid).
    """
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        name = _known(table)
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:t, 'id'), "  # noqa: S608  # allow-listed name
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM \"{name}\"), false)"
        ), {"t": name})


def _known(table: str) -> str:
    names = {t.name for t in TABLES.values()}
    if table not in names:
        raise ValueError(f"not a Rejoinder table: {table!r}")
    return table


def insert_ignoring_existing(
    conn: Connection, kind: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows with their own ids; rows whose id or unique key exists already are skipped.

    The one dialect branch for `INSERT … ON CONFLICT DO NOTHING` (SQLite and PostgreSQL both
    have it, but SQLAlchemy builds it per dialect).
    """
    if not rows:
        return
    table = TABLES[kind]
    stmt = (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table)).on_conflict_do_nothing()
    conn.execute(stmt, list(rows))


def owned(conn: Connection, kind: str, ids: Sequence[int], site_id: int) -> int:
    """How many of these ids are rows of this site (the lossless importer's clash check)."""
    table = TABLES[kind]
    q = select(func.count()).select_from(table).where(table.c.id.in_(ids))
    return int(conn.execute(q.where(_of_site(kind, site_id))).scalar_one())


def site_rows(conn: Connection, kind: str, site_id: int) -> int:
    """How many rows of one kind a site has."""
    q = select(func.count()).select_from(TABLES[kind]).where(_of_site(kind, site_id))
    return int(conn.execute(q).scalar_one())


def _of_site(kind: str, site_id: int) -> Any:
    table = TABLES[kind]
    if kind in ("vote", "flag"):
        return table.c.comment_id.in_(select(comments.c.id).where(comments.c.site_id == site_id))
    if kind == "site":
        return table.c.id == site_id
    return table.c.site_id == site_id
