"""Isso's SQLite database: `threads(id, uri, title)` and `comments(tid, id, parent, created, …)`.

Opened read-only. `mode`: 1 accepted → published, 2 pending, 4 deleted. `text` is Markdown and
is rendered like a new comment. `remote_addr` (already truncated by Isso) is hashed with the
server's keyed hash; likes and dislikes become vote counters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rejoinder.domain.comments import CommentStatus
from rejoinder.importers.records import ImportFailed, Record, SourceComment, SourceThread

_MODES = {1: CommentStatus.PUBLISHED, 2: CommentStatus.PENDING, 4: CommentStatus.DELETED}


class IssoSource:
    system = "isso"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total: int | None = None
        self.position = 0

    def records(self) -> Iterator[Record]:
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise ImportFailed(f"{self.path.name}: cannot open: {exc}") from exc
        try:
            yield from self._read(db)
        except sqlite3.DatabaseError as exc:
            raise ImportFailed(
                f"{self.path.name}: not an Isso database (after {self.position} comments): {exc}"
            ) from exc
        finally:
            db.close()

    def _read(self, db: sqlite3.Connection) -> Iterator[Record]:
        self.total = int(db.execute("SELECT count(*) FROM comments").fetchone()[0])
        for tid, uri, title in db.execute("SELECT id, uri, title FROM threads ORDER BY id"):
            yield SourceThread(ref=str(tid), url=uri, title=title)
        rows = db.execute(
            "SELECT tid, id, parent, created, modified, mode, remote_addr, text, author, email, "
            "likes, dislikes FROM comments ORDER BY id"
        )
        for (tid, cid, parent, created, modified, mode, addr, text, author, email,
             likes, dislikes) in rows:
            self.position += 1
            yield SourceComment(
                ref=str(cid),
                thread_ref=str(tid),
                parent_ref=str(parent) if parent is not None else None,
                status=_MODES.get(int(mode or 1), CommentStatus.PENDING),
                created_at=_time(created),
                edited_at=_time(modified) if modified else None,
                markdown=text or "",
                author_name=author,
                author_email=email,
                ip=addr,
                upvotes=int(likes or 0),
                downvotes=int(dislikes or 0),
            )


def _time(value: float | int | str | None) -> datetime:
    return datetime.fromtimestamp(float(value or 0), UTC)
