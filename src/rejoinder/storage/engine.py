"""Creating engines and running migrations, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def _json_loads(text: str | bytes) -> Any:
    # orjson is several times faster than json on the uncached thread read (every comment has a
    # JSON column); it refuses the NaN/Infinity that Python's json may have written, so those
    # rare values still go through json.
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Database:
    """The engines of one database: `reader` for queries, `writer` for transactions that write.

    On SQLite the writer has a single connection that begins with BEGIN IMMEDIATE: writers queue
    in the pool instead of failing with "database is locked" on a lock upgrade, and readers never
    wait (WAL). On PostgreSQL both are the same pooled engine.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            _ensure_sqlite_dir(url)
            self.reader = _sqlite_engine(url, pool_size=pool_size, immediate=False)
            self.writer = _sqlite_engine(url, pool_size=1, immediate=True)
        else:
            self.reader = self.writer = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,  # survive a PostgreSQL restart without restarting ourselves
                pool_recycle=1800,
                json_deserializer=_json_loads,
            )

    def dispose(self) -> None:
        self.reader.dispose()
        self.writer.dispose()


def _sqlite_engine(url: str, *, pool_size: int, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=0 if immediate else pool_size,
        pool_timeout=60,
        json_deserializer=_json_loads,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Driver-level autocommit: SQLAlchemy's "begin" event issues BEGIN itself (see above).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # busy_timeout first: switching to WAL needs a lock another connection may briefly hold.
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL is a property of the file: set it once. Asking needs no lock, setting it again does,
    # and on a busy new file that re-setting could fail with "database is locked" regardless of
    # busy_timeout (seen when a background thread's first connection raced a request's).
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # an acknowledged comment survives power loss too
    cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Upgrade the database at `url` to the newest schema (idempotent)."""
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), "head")


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
