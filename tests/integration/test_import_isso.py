"""Isso import (issue 5): an Isso SQLite database, built here from Isso's schema."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.factories import thread

from rejoinder.importers.isso import IssoSource
from rejoinder.importers.pipeline import ImportOptions, SiteSpec, run_import
from rejoinder.importers.records import ImportFailed
from rejoinder.storage.engine import Database

# Isso's schema (isso/db/threads.py, isso/db/comments.py).
ISSO_SCHEMA = """
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0);
"""
T0 = datetime(2021, 5, 1, 12, 0, tzinfo=UTC).timestamp()


def make_isso_db(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(ISSO_SCHEMA)
    db.executemany("INSERT INTO threads VALUES (?, ?, ?)",
                   [(1, "/2021/05/isso/", "Isso post"), (2, "/quiet/", None)])
    comments = [
        # tid, id, parent, created, modified, mode, remote_addr, text, author, email, likes, dislikes
        (1, 1, None, T0, None, 4, "192.0.2.0", "gone", "Old", None, 0, 0),  # deleted, has replies
        (1, 2, 3, T0 + 120, None, 1, "192.0.2.0", "Reply *before* its parent id", None, None, 2, 1),
        (1, 3, 1, T0 + 60, T0 + 90, 1, "198.51.100.0", "A [link](https://example.org) "
         "<script>alert(1)</script>", "Mia", "mia@example.net", 5, 0),
        (1, 4, None, T0 + 200, None, 2, None, "pending one", "Pat", None, 0, 0),
    ]
    db.executemany(
        "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr, text, "
        "author, email, likes, dislikes, voters) VALUES (?,?,?,?,?,?,?,?,?,?,?,?, x'00')",
        comments,
    )
    db.commit()
    db.close()


def test_isso_import(app_factory: Callable[..., TestClient], db_url: str, tmp_path: Path) -> None:
    tc = app_factory()
    make_isso_db(tmp_path / "comments.db")
    db = Database(db_url, pool_size=1)
    try:
        summary = run_import(
            db, "isso", IssoSource(tmp_path / "comments.db"), ImportOptions(),
            hash_ip=lambda ip: f"h({ip})", now=datetime(2026, 1, 1, tzinfo=UTC),
            create_site=SiteSpec(origins=["https://isso.example.org"]),
        )
        assert summary.comments == {"deleted": 1, "published": 2, "pending": 1}
        with pytest.raises(ImportFailed, match="not an Isso database"):
            (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
            run_import(db, "isso", IssoSource(tmp_path / "junk.db"), ImportOptions(),
                       hash_ip=str, now=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        db.dispose()

    page = thread(tc, "/2021/05/isso/", site="isso")
    assert page["thread"]["comment_count"] == 2
    (old,) = page["comments"]
    assert old["deleted"] is True
    (mia,) = old["replies"]
    assert mia["body_html"] == ('<p>A <a href="https://example.org" rel="nofollow ugc noopener">'
                                "link</a> &lt;script&gt;alert(1)&lt;/script&gt;</p>")
    assert mia["edited_at"] == "2021-05-01T12:01:30Z"
    assert (mia["upvotes"], mia["score"]) == (5, 5)
    (reply,) = mia["replies"]
    assert reply["author"]["name"] == "Guest"
    assert reply["body_html"] == "<p>Reply <em>before</em> its parent id</p>"
    assert mia["id"] < reply["id"]
