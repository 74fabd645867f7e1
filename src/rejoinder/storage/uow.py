"""Transactions for services: `SqlUnitOfWork.read()` / `.write()` yield a `SqlStore`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, OperationalError

from rejoinder.domain.errors import Unavailable
from rejoinder.storage.engine import Database
from rejoinder.storage.repositories import SqlStore


class SqlUnitOfWork:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def read(self) -> Iterator[SqlStore]:
        with _unavailable_on_disconnect(), self.db.reader.connect() as conn, conn.begin():
            yield SqlStore(conn)

    @contextmanager
    def write(self) -> Iterator[SqlStore]:
        """One transaction: committed when the block ends normally, rolled back on any error."""
        with _unavailable_on_disconnect(), self.db.writer.connect() as conn, conn.begin():
            yield SqlStore(conn)


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
