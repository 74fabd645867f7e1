"""Bulk writes for importers (issue 5, ADR 0012): staged rows become a thread tree in a few
statements.

Comments from another system arrive in any order (replies before their parents, parents that
never arrive, duplicates). Threads and comments are streamed into temporary staging tables
(PostgreSQL: one long `COPY`; SQLite: `executemany` batches), then moved into place by
set-based SQL, so memory stays flat whatever the file size:

1. drop duplicates within the file and comments imported before (`source_key`, idempotency);
2. create the staged threads that do not exist yet (matched by key), in one statement;
3. walk the reply tree with a recursive CTE: depth, root, and an effective time that is never
   earlier than the parent's, so that
4. new ids follow time *and* put every parent before its replies (`build_tree` relies on it);
5. one INSERT … SELECT with parent and root ids and reply counts resolved (no second pass over
   the new rows), then the counters of what existed before: threads' `comment_count`, replies
   of comments from an earlier import.

Everything runs on the caller's connection, inside the caller's transaction: a failure anywhere
rolls the whole import back. Temporary tables are dropped before the caller commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
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
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from rejoinder.storage.tables import (
    AuditRow,
    BanRow,
    CommentRow,
    FlagRow,
    SiteRow,
    SubscriptionRow,
    ThreadRow,
    UserRow,
    UTCDateTime,
    VoteRow,
)

# The lossless export's row kinds, parents before children. Reader accounts and subscriptions
# travel too (a site moved between servers keeps its readers and their mail preferences);
# sessions, sign-in links and the mail outbox are short-lived and do not: readers sign in again.
TABLES: dict[str, Table] = {
    "site": cast(Table, SiteRow.__table__),
    "user": cast(Table, UserRow.__table__),
    "thread": cast(Table, ThreadRow.__table__),
    "comment": cast(Table, CommentRow.__table__),
    "subscription": cast(Table, SubscriptionRow.__table__),
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
    Column("thread_seq", Integer, nullable=False),  # rj_import_thread_staging.tseq
    Column("status", String(16), nullable=False),
    Column("body_md", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("author_name", String(100)),
    Column("author_email", String(254)),
    Column("ip_hash", String(64)),
    Column("moderation", Text),  # JSON text, copied into comments.moderation as is
    Column("score", Integer, nullable=False),
    Column("upvotes", Integer, nullable=False),
    Column("downvotes", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
_thread_staging = Table(
    "rj_import_thread_staging", _tmp,
    Column("tseq", Integer, primary_key=True, autoincrement=False),
    Column("key", String(512), nullable=False),
    Column("title", String(500)),
    Column("url", String(2048)),
    Column("locked", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("thread_id", BigInteger),  # filled at the end: existing or newly created thread
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
_replies = Table(
    "rj_import_replies", _tmp,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_TEMP_TABLES = (staging, _thread_staging, _tree, _ids, _replies)

# SQLite: the staged comments in two tables. The narrow one holds what the tree, the duplicate
# checks and the counts read (scanned several times: a few dozen bytes a row instead of the
# whole comment); the bodies wait in the payload table, read once by the final move in id order.
# Ids follow time, so the payload is keyed by time (`_payload_key`: the minute, then `seq`):
# the move reads it almost in order instead of one random page per comment (at a million
# comments, a gigabyte that no cache holds). Its B-tree is built while the file is read, when
# this process mostly waits for the worker. (PostgreSQL keeps one table, filled by one COPY.)
_tmp_sqlite = MetaData()
_narrow = Table(
    "rj_import_staging", _tmp_sqlite,
    *(staging.c[name]._copy() for name in
      ("seq", "source_key", "parent_key", "thread_seq", "status", "created_at")),
    Column("pkey", BigInteger, nullable=False),  # rj_import_payload's row
    prefixes=["TEMPORARY"],
)
_PAYLOAD_FIELDS = ("body_md", "body_html", "author_name", "author_email", "ip_hash",
                   "moderation", "score", "upvotes", "downvotes", "edited_at")
_payload = Table(
    "rj_import_payload", _tmp_sqlite,
    # INTEGER PRIMARY KEY: the rowid itself (SQLAlchemy: a BigInteger would not be the rowid)
    Column("pkey", Integer, primary_key=True, autoincrement=False),
    *(staging.c[name]._copy() for name in _PAYLOAD_FIELDS),
    prefixes=["TEMPORARY"],
)
_final = Table(
    "rj_import_final", _tmp_sqlite,
    Column("new_id", Integer, primary_key=True, autoincrement=False),  # the rowid: id order
    Column("pkey", BigInteger, nullable=False),  # rj_import_payload's row
    Column("thread_id", BigInteger, nullable=False),
    Column("parent_id", BigInteger),
    Column("root_id", BigInteger),
    Column("reply_count", Integer, nullable=False),
    # the staged row's own columns, so that the move reads no staging table at random
    Column("status", String(16), nullable=False),
    Column("source_key", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    prefixes=["TEMPORARY"],
)
_SQLITE_TEMP_TABLES = (_narrow, _payload, _thread_staging, _tree, _ids, _replies, _final)
# Built after the load (cheaper than maintaining them row by row).
_STAGING_INDEXES = (
    "CREATE INDEX rj_import_staging_source ON rj_import_staging (source_key)",
    "CREATE INDEX rj_import_staging_parent ON rj_import_staging (parent_key, thread_seq)",
    "CREATE INDEX rj_import_thread_staging_key ON rj_import_thread_staging (key)",
)


class StagedComment(NamedTuple):
    """The layout of one staged comment (fields in staging-column order, after `seq`).

    Importers hand rows over as plain tuples in this order (a million named tuples cost
    seconds), with `thread` still the source's thread id (`CommentStager.add_built` puts the
    stager's number in its place) and times already in storage form (`storage_time`);
    `moderation` is JSON text or None.
    """

    source_key: str
    parent_key: str | None
    thread: Any
    status: str
    body_md: str
    body_html: str
    author_name: str | None
    author_email: str | None
    ip_hash: str | None
    moderation: str | None
    score: int
    upvotes: int
    downvotes: int
    created_at: str
    edited_at: str | None


def storage_time(value: datetime, pg: bool) -> str:
    """A timestamp as the staging tables take it: SQLite, SQLAlchemy's own naive-UTC text (what
    `UTCDateTime` stores); PostgreSQL, ISO text with the offset (COPY parses it)."""
    text = value.astimezone(UTC).isoformat(" ", "microseconds")
    return text if pg else text[:-6]  # without "+00:00"


_COMMENT_COLUMNS = tuple(c.name for c in staging.columns)  # seq + StagedComment's fields
_THREAD_COLUMNS = ("tseq", "key", "title", "url", "locked", "created_at")
assert len(_COMMENT_COLUMNS) == len(StagedComment._fields) + 1


@dataclass
class FinishStats:
    """What the move from staging into `comments` did."""

    inserted: dict[str, int] = field(default_factory=dict)  # by status
    duplicates: int = 0  # the same source id twice in the file
    existing: int = 0  # imported by an earlier run
    orphans: int = 0  # parent missing (or a reply cycle): kept as top-level comments
    threads_created: int = 0


class CommentStager:
    """Collects imported threads and comments in temporary tables, then builds the tree in SQL.

    Rows go to the database as they come (PostgreSQL: one long `COPY`, so the server ingests
    while we parse; SQLite: `executemany` per batch), so memory stays flat. Threads are staged
    too and created or matched by key at the end in one statement; only a map from thread key
    to its number stays in memory (one entry per thread, not per comment).
    """

    def __init__(self, conn: Connection, site_id: int, *, batch_size: int = 2000) -> None:
        self.conn = conn
        self.site_id = site_id
        self.batch_size = batch_size
        self._pg = conn.dialect.name == "postgresql"
        self._batch: list[tuple[Any, ...]] = []
        self._payload: list[tuple[Any, ...]] = []  # SQLite: the bodies, for rj_import_payload
        self._temp_tables = _TEMP_TABLES if self._pg else _SQLITE_TEMP_TABLES
        self._thread_batch: list[list[Any]] = []
        self._seq = 0
        self._threads: dict[str, tuple[int, bool, bool]] = {}  # key → (tseq, has title, has url)
        self._copy: contextlib.ExitStack | None = None
        self._copy_writer: Any = None
        self._sqlite_cache: list[tuple[str, Any]] = []
        if not self._pg:
            # A bigger page cache for this session only: the final statements walk million-row
            # temporary tables and indexes. Durability is unchanged (synchronous=FULL, one commit).
            for schema in ("main", "temp"):
                old = conn.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar()
                self._sqlite_cache.append((schema, old))
            self._cache(_SQLITE_CACHE_KIB)
        else:
            self._temp_buffers()
        for table in self._temp_tables:
            table.drop(conn, checkfirst=True)  # a leftover from a crashed run on this connection
            table.create(conn)

    def _temp_buffers(self) -> bool:
        """PostgreSQL: a bigger buffer pool for this session's temporary tables (ADR 0018).

        Temporary tables bypass shared buffers: the session reads and writes them through its
        own pool, `temp_buffers`, 8 MB by default, so every statement over the staged million
        rows went to the operating system page by page (the ids alone: ~550,000 reads and
        writes). The pool is sized once, when the session first touches a temporary table, and
        grows only as pages are used; `SET LOCAL` keeps the setting to this transaction. A
        session that has used temporary tables before keeps the pool it has (PostgreSQL refuses
        the change): then the import goes on with it. Returns whether the setting took.
        """
        try:
            with self.conn.begin_nested():
                self.conn.exec_driver_sql(f"SET LOCAL temp_buffers = '{_PG_TEMP_BUFFERS}'")
        except DBAPIError:
            return False
        return True

    # -- threads -----------------------------------------------------------------------------
    def thread(
        self, key: str, title: str | None, url: str | None, created_at: datetime, locked: bool
    ) -> int:
        """The number of the thread with this key, for `StagedComment.thread`.

        Threads are matched by key: an existing thread keeps its id and values, except that a
        missing title or URL is filled in (as is a thread staged earlier in this import).
        """
        known = self._threads.get(key)
        if known is None:
            tseq = len(self._threads) + 1
            self._threads[key] = (tseq, bool(title), bool(url))
            self._thread_batch.append(
                [tseq, key, title, url, locked, self._time(created_at)]
            )
            if len(self._thread_batch) >= self.batch_size:
                self._flush_threads()
            return tseq
        tseq, has_title, has_url = known
        if (title and not has_title) or (url and not has_url):  # rare: two old threads, one key
            self._threads[key] = (tseq, has_title or bool(title), has_url or bool(url))
            self._flush_threads()
            self.conn.execute(
                update(_thread_staging).where(_thread_staging.c.tseq == tseq).values(
                    title=func.coalesce(_thread_staging.c.title, title),
                    url=func.coalesce(_thread_staging.c.url, url),
                )
            )
        return tseq

    @property
    def threads(self) -> int:
        return len(self._threads)

    # -- comments ----------------------------------------------------------------------------
    def add_built(self, thread: int, row: tuple[Any, ...]) -> None:
        """Stage one comment: `row` in `StagedComment`'s order, its thread field replaced by
        `thread` (the number `thread()` returned)."""
        self._seq += 1
        seq = self._seq
        if self._pg:
            self._batch.append((seq, row[0], row[1], thread, *row[3:]))
        else:  # the columns of _narrow and _payload
            pkey = _payload_key(row[13], seq)
            self._batch.append((seq, row[0], row[1], thread, row[3], row[13], pkey))
            self._payload.append((pkey, *row[4:13], row[14]))
        if len(self._batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Send the staged comments to the database."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self._pg:
            write = self._copy_rows()
            for row in batch:
                write(row)
        else:
            # The driver's own executemany: SQLAlchemy would look at every row on the way.
            payload, self._payload = self._payload, []
            dbapi = self.conn.connection.driver_connection
            assert dbapi is not None
            dbapi.executemany(_NARROW_INSERT, batch)
            dbapi.executemany(_PAYLOAD_INSERT, payload)

    def _time(self, value: datetime) -> Any:
        """SQLite: SQLAlchemy's own text format (what `UTCDateTime` stores); PG: aware UTC."""
        return value.astimezone(UTC) if self._pg else storage_time(value, pg=False)

    def _copy_rows(self) -> Any:
        """`write_row` of the open `COPY rj_import_staging FROM STDIN`, opened if needed.

        The COPY stays open across batches (the server ingests while we parse) and is closed
        before any other statement runs on the connection.
        """
        if self._copy is None:
            from psycopg.copy import QueuedLibpqWriter

            stack = contextlib.ExitStack()
            cursor: Any = self.conn.connection.cursor()
            stack.callback(cursor.close)
            copy = stack.enter_context(cursor.copy(
                f"COPY rj_import_staging ({', '.join(_COMMENT_COLUMNS)}) FROM STDIN",
                writer=QueuedLibpqWriter(cursor),  # a thread sends, we go on parsing
            ))
            self._copy, self._copy_writer = stack, copy.write_row
        return self._copy_writer

    def _close_copy(self) -> None:
        if self._copy is not None:
            stack, self._copy, self._copy_writer = self._copy, None, None
            stack.close()

    def _flush_threads(self) -> None:
        self.flush()
        self._close_copy()
        batch, self._thread_batch = self._thread_batch, []
        if batch:
            mark = "%s" if self._pg else "?"
            self.conn.exec_driver_sql(
                _insert_sql(_thread_staging.name, _THREAD_COLUMNS, mark), [tuple(r) for r in batch]
            )

    def abort(self) -> None:
        """On failure: end a COPY in progress (the caller rolls the transaction back)."""
        if self._copy is not None:
            stack, self._copy = self._copy, None
            with contextlib.suppress(Exception):
                stack.__exit__(ImportAborted, ImportAborted(), None)

    def finish(self) -> FinishStats:
        """Move staged rows into `threads` and `comments`, fix counters; drop temp tables."""
        self._flush_threads()
        if self._pg:
            # Sorts and hashes over the staged rows stay in memory instead of spilling to disk;
            # no JIT: compiling these one-off statements costs more (~1 s) than it saves.
            self.conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            self.conn.exec_driver_sql("SET LOCAL jit = off")
        for ddl in _STAGING_INDEXES:
            self.conn.exec_driver_sql(ddl)
        stats = FinishStats()
        stats.duplicates = self._execute(
            "DELETE FROM rj_import_staging WHERE EXISTS (SELECT 1 FROM rj_import_staging d "
            "WHERE d.source_key = rj_import_staging.source_key AND d.seq < rj_import_staging.seq)"
        )
        stats.existing = self._execute(
            "DELETE FROM rj_import_staging WHERE EXISTS (SELECT 1 FROM comments c "
            "WHERE c.site_id = :site AND c.source_key = rj_import_staging.source_key)"
        )
        stats.threads_created = self._create_threads()
        self._analyze("rj_import_staging", "rj_import_thread_staging")
        stats.orphans = self._build_tree()
        lock_for_ids(self.conn, "comments")
        self._assign_ids()
        self._analyze("rj_import_tree", "rj_import_ids", "rj_import_replies")
        self._move()
        stats.inserted = {
            r.status: int(r.n) for r in self.conn.execute(
                text("SELECT status, count(*) AS n FROM rj_import_staging GROUP BY status")
            )
        }
        self._recount()
        bump_sequences(self.conn, ["comments"])
        if self._pg:
            for table in reversed(self._temp_tables):
                table.drop(self.conn)
        # SQLite: dropping a temporary table frees it page by page (seconds at a million rows);
        # the caller closes the connection after the transaction instead (`discard_temp`), which
        # deletes the temporary file at once.
        for schema, size in self._sqlite_cache:
            self.conn.exec_driver_sql(f"PRAGMA {schema}.cache_size={int(size)}")
        return stats

    def _analyze(self, *tables: str) -> None:
        # PostgreSQL keeps no statistics on temporary tables unless asked: without them it
        # plans million-row joins as if the tables were tiny.
        if self._pg:
            for table in tables:
                self.conn.exec_driver_sql(f"ANALYZE {table}")

    def _execute(self, sql: str, **params: Any) -> int:
        result = self.conn.execute(text(sql), {"site": self.site_id, **params})
        return int(result.rowcount or 0)

    def _create_threads(self) -> int:
        """Create the staged threads that do not exist; map every staged thread to its id."""
        created = self._execute("""
INSERT INTO threads (site_id, key, title, url, locked, comment_count, created_at)
SELECT :site, t.key, t.title, t.url, t.locked, 0, t.created_at FROM rj_import_thread_staging t
WHERE NOT EXISTS (SELECT 1 FROM threads x WHERE x.site_id = :site AND x.key = t.key)
ORDER BY t.tseq
""")
        self._execute("""
UPDATE rj_import_thread_staging SET thread_id = (
  SELECT x.id FROM threads x WHERE x.site_id = :site AND x.key = rj_import_thread_staging.key)
""")
        # Existing threads keep their values; a missing title or URL is filled in.
        self._execute("""
UPDATE threads SET
  title = COALESCE(threads.title, (SELECT t.title FROM rj_import_thread_staging t
                                   WHERE t.thread_id = threads.id)),
  url = COALESCE(threads.url, (SELECT t.url FROM rj_import_thread_staging t
                               WHERE t.thread_id = threads.id))
WHERE threads.id IN (SELECT t.thread_id FROM rj_import_thread_staging t
                     WHERE (t.title IS NOT NULL OR t.url IS NOT NULL))
  AND (threads.title IS NULL OR threads.url IS NULL)
""")
        return created

    def _build_tree(self) -> int:
        """Fill rj_import_tree; return how many comments lost a missing or cyclic parent."""
        # Anchors: top-level comments, and replies whose parent is not staged in the same thread
        # (an earlier import's comment, or missing from the file: then they become top-level).
        self._execute("""
WITH RECURSIVE tree(seq, source_key, thread_seq, depth, eff, root_seq, parent_seq,
                    parent_existing, root_existing) AS (
  SELECT s.seq, s.source_key, s.thread_seq, 0, s.created_at,
         CASE WHEN e.id IS NULL THEN s.seq END, CAST(NULL AS INTEGER),
         CAST(e.id AS BIGINT), CAST(e.root_id AS BIGINT)
  FROM rj_import_staging s
  LEFT JOIN rj_import_thread_staging ts ON s.parent_key IS NOT NULL AND ts.tseq = s.thread_seq
  LEFT JOIN comments e ON e.site_id = :site AND e.source_key = s.parent_key
                      AND e.thread_id = ts.thread_id
  WHERE s.parent_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM rj_import_staging p
    WHERE p.source_key = s.parent_key AND p.thread_seq = s.thread_seq AND p.seq <> s.seq)
  UNION ALL
  SELECT c.seq, c.source_key, c.thread_seq, t.depth + 1,
         CASE WHEN c.created_at > t.eff THEN c.created_at ELSE t.eff END,
         t.root_seq, t.seq, CAST(NULL AS BIGINT), t.root_existing
  FROM rj_import_staging c JOIN tree t ON c.parent_key = t.source_key
                                      AND c.thread_seq = t.thread_seq AND c.seq <> t.seq
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
        # Published replies per new comment, so `reply_count` is right as it is inserted
        # (no second pass that rewrites every parent row and its index entries).
        self._execute("""
INSERT INTO rj_import_replies (seq, n)
SELECT t.parent_seq, count(*) FROM rj_import_tree t JOIN rj_import_staging c ON c.seq = t.seq
WHERE t.parent_seq IS NOT NULL AND c.status = 'published'
GROUP BY t.parent_seq
""")

    def _move(self) -> None:
        if not self._pg:
            self._move_sqlite()
            return
        # In id order (ADR 0018): the primary key and the indexes that end in the id
        # (`ix_comments_site_status`, any other ending in `id`) then grow at their right edge, not
        # split pages all over the new range. At 1M comments the sort (spilled to disk, ~4 s) costs
        # less than it saves: the move took 32.9 s instead of 37.8 s.
        self._execute("""
INSERT INTO comments (id, site_id, thread_id, parent_id, root_id, status, body_md, body_html,
  author_name, author_email, is_guest, ip_hash, moderation, score, upvotes, downvotes,
  reply_count, flag_count, source_key, created_at, edited_at)
SELECT i.new_id, :site, ts.thread_id, COALESCE(pi.new_id, t.parent_existing),
  COALESCE(ri.new_id, t.root_existing), s.status, s.body_md, s.body_html,
  s.author_name, s.author_email, TRUE, s.ip_hash, CAST(s.moderation AS JSON),
  s.score, s.upvotes, s.downvotes, COALESCE(r.n, 0), 0, s.source_key, s.created_at, s.edited_at
""" + _RESOLVED + "ORDER BY i.new_id")

    def _cache(self, kib: dict[str, int]) -> None:
        for schema, size in kib.items():
            self.conn.exec_driver_sql(f"PRAGMA {schema}.cache_size=-{size}")

    def _move_sqlite(self) -> None:
        # SQLite stores rows in id (rowid) order: inserting them in that order appends instead
        # of splitting pages all over a gigabyte-sized table. The narrow rj_import_final is
        # keyed by the new id, so reading it in order needs no sort of whole comments.
        self._execute("""
INSERT INTO rj_import_final (new_id, pkey, thread_id, parent_id, root_id, reply_count, status,
  source_key, created_at)
SELECT i.new_id, s.pkey, ts.thread_id, COALESCE(pi.new_id, t.parent_existing),
  COALESCE(ri.new_id, t.root_existing), COALESCE(r.n, 0), s.status, s.source_key, s.created_at
""" + _RESOLVED)
        self._cache(_SQLITE_MOVE_CACHE_KIB)
        self._execute("""
INSERT INTO comments (id, site_id, thread_id, parent_id, root_id, status, body_md, body_html,
  author_name, author_email, is_guest, ip_hash, moderation, score, upvotes, downvotes,
  reply_count, flag_count, source_key, created_at, edited_at)
SELECT f.new_id, :site, f.thread_id, f.parent_id, f.root_id, f.status, p.body_md, p.body_html,
  p.author_name, p.author_email, TRUE, p.ip_hash, p.moderation, p.score, p.upvotes,
  p.downvotes, f.reply_count, 0, f.source_key, f.created_at, p.edited_at
FROM rj_import_final f
JOIN rj_import_payload p ON p.pkey = f.pkey
ORDER BY f.new_id
""")

    def _recount(self) -> None:
        """Counters of what existed before: replies of earlier imports' comments, threads."""
        self._execute("""
UPDATE comments SET reply_count = (
  SELECT count(*) FROM comments c
  WHERE c.thread_id = comments.thread_id AND c.status = 'published' AND c.parent_id = comments.id)
WHERE id IN (SELECT parent_existing FROM rj_import_tree WHERE parent_existing IS NOT NULL)
""")
        self._execute("""
UPDATE threads SET comment_count = (
  SELECT count(*) FROM comments c WHERE c.thread_id = threads.id AND c.status = 'published')
WHERE id IN (SELECT thread_id FROM rj_import_thread_staging)
""")


# Each staged comment with its thread, tree place, new id, parent's and root's new ids and
# published reply count: what both moves (`_move`, `_move_sqlite`) select from.
_RESOLVED = """
FROM rj_import_staging s
JOIN rj_import_thread_staging ts ON ts.tseq = s.thread_seq
JOIN rj_import_tree t ON t.seq = s.seq
JOIN rj_import_ids i ON i.seq = s.seq
LEFT JOIN rj_import_ids pi ON pi.seq = t.parent_seq
LEFT JOIN rj_import_ids ri ON ri.seq = t.root_seq
LEFT JOIN rj_import_replies r ON r.seq = s.seq
"""


class ImportAborted(Exception):
    """Raised into a COPY in progress when the import fails (so the server discards it)."""


# Page cache for the import's session only, KiB. Until the move the temporary tables get the most
# (SQLite's sorter may use as much again as the main cache: ORDER BY, CREATE INDEX); for the move,
# which sorts nothing, the main cache grows to hold the indexes of `comments` that a million
# rows in id order touch at random places (source keys, threads), and the temporary cache
# shrinks: the peak stays about the same.
_SQLITE_CACHE_KIB = {"main": 16384, "temp": 16384}
# PostgreSQL's pool for the import session's temporary tables (server memory, used as needed;
# the narrow tables of a million-comment import — tree, ids, replies, threads — fit in it).
_PG_TEMP_BUFFERS = "256MB"
_SQLITE_MOVE_CACHE_KIB = {"main": 40960, "temp": 4096}


def _insert_sql(table: str, cols: Sequence[str], mark: str) -> str:
    return (f"INSERT INTO {table} ({', '.join(cols)}) "  # noqa: S608  # fixed names
            f"VALUES ({', '.join([mark] * len(cols))})")


# `add_built` splits a row by position (SQLite); these checks keep it in step with the tables.
_FIELDS = ("seq", *StagedComment._fields)
assert tuple(_narrow.c.keys()) == (*(
    "thread_seq" if f == "thread" else f for f in _FIELDS[:5] + _FIELDS[14:15]), "pkey")
assert tuple(_payload.c.keys()) == ("pkey", *_FIELDS[5:14], *_FIELDS[15:])
_SEQ_BITS = 23  # 8 million comments per import keyed by minute, the rest after them


def _payload_key(created_at: str, seq: int) -> int:
    """A unique key that sorts by creation minute, then seq (SQLite text: `YYYY-MM-DD HH:MM…`).

    Only locality depends on it, not correctness (the move joins by it): the minute as the
    number YYYYMMDDHHMM (< 10**12) above 23 bits of seq stays below 2**63; past 2**23 comments
    the keys are negative, unique and out of the way.
    """
    if seq >> _SEQ_BITS:
        return -seq
    t = created_at
    return (int(t[0:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16]) << _SEQ_BITS) | seq


_NARROW_INSERT = _insert_sql(_narrow.name, tuple(_narrow.c.keys()), "?")
_PAYLOAD_INSERT = _insert_sql(_payload.name, tuple(_payload.c.keys()), "?")


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
