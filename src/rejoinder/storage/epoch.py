"""The cache epoch: how a command outside the server reaches the server's page cache.

A running server caches thread pages and counts in memory and drops them on its own writes (and,
through Redis, on its siblings'). A CLI command that writes to the database directly (an import,
`site set`, a restore) is none of those, so it moves this counter; `EpochWatcher` in each server
reads it once a second in a background thread and clears the cache when it moved. The read path
pays nothing for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import cast

from sqlalchemy import Connection, Table, case, select, update
from sqlalchemy.exc import SQLAlchemyError

from rejoinder.storage.engine import Database
from rejoinder.storage.tables import CacheEpochRow

log = logging.getLogger("rejoinder.cache")
cache_epoch = cast(Table, CacheEpochRow.__table__)


def read_epoch(conn: Connection) -> int:
    value = conn.execute(select(cache_epoch.c.value).where(cache_epoch.c.id == 1)).scalar()
    return int(value or 0)


def bump_epoch(db: Database, *, past: int = 0) -> None:
    """Tell every running server to drop its cached pages (within about a second).

    `past`: an epoch a server may have seen that the database no longer holds (a restore brings
    back the backup's, possibly the very value servers saw last): the new one is beyond both.
    """
    with db.writer.connect() as conn, conn.begin():
        bump_in(conn, past=past)


def bump_in(conn: Connection, *, past: int = 0) -> None:
    """`bump_epoch` inside the caller's transaction: the change and the news of it commit
    together, so a crash between them cannot leave servers serving stale pages."""
    value = cache_epoch.c.value
    conn.execute(update(cache_epoch).where(cache_epoch.c.id == 1)
                 .values(value=case((value >= past, value), else_=past) + 1))


def current_epoch(db: Database) -> int:
    """The epoch now, or 0 where the database has none yet (empty, or an older schema)."""
    try:
        with db.reader.connect() as conn:
            return read_epoch(conn)
    except SQLAlchemyError:  # no table yet: nothing can have been seen, and 0 is below anything
        return 0


class EpochWatcher:
    def __init__(self, db: Database, clear: Callable[[], None], every_s: float = 1.0) -> None:
        self.db = db
        self.clear = clear
        self.every_s = every_s
        self._seen: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Read the epoch once; clear the cache if it moved since the last look."""
        with self.db.reader.connect() as conn:
            value = read_epoch(conn)
        moved = self._seen is not None and value != self._seen
        self._seen = value
        if moved:
            log.info("cache epoch moved to %s: cached pages dropped", value)
            self.clear()
        return moved

    def start(self) -> None:
        if self.every_s <= 0 or self._thread is not None:
            return
        # The first look happens here, before the app serves: on a new SQLite file, a first
        # connection made by this thread could race a request's (switching the file to WAL).
        try:
            self.check()
        except Exception as exc:  # the database is down: the thread's looks will retry
            log.debug("cache epoch check failed: %s", type(exc).__name__)
        self._thread = threading.Thread(target=self._run, name="rejoinder-epoch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.check()
            except Exception as exc:  # the database away for a moment: look again later
                log.debug("cache epoch check failed: %s", type(exc).__name__)
