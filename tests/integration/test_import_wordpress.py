"""WordPress WXR import (issue 5): statuses, threading, wpDiscuz votes, pingbacks, paragraphs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from tests.factories import thread

from rejoinder.importers.pipeline import ImportOptions, SiteSpec, run_import
from rejoinder.importers.wordpress import WordPressSource
from rejoinder.storage.engine import Database

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def test_wordpress_import(app_factory: Callable[..., TestClient], db_url: str) -> None:
    tc = app_factory()
    db = Database(db_url, pool_size=1)
    try:
        summary = run_import(
            db, "wp", WordPressSource(FIXTURES / "wordpress.xml"), ImportOptions(),
            hash_ip=lambda ip: f"h({ip})", now=datetime(2026, 1, 1, tzinfo=UTC),
            create_site=SiteSpec(origins=["https://blog.example.org"]),
        )
    finally:
        db.dispose()
    assert summary.comments == {"published": 3, "deleted": 1, "pending": 1, "rejected": 1}
    assert summary.skipped == {"pingback or trackback": 1}
    assert summary.threads == 2  # the page without comments gets no thread

    page = thread(tc, "/2020/01/hello/", site="wp")
    assert page["thread"] == {"key": "/2020/01/hello/", "title": "Hello & welcome",
                              "url": "https://blog.example.org/2020/01/hello/",
                              "comment_count": 2, "locked": False}
    trashed, anonymous = page["comments"]
    assert trashed["deleted"] is True  # trashed parent kept so its reply stays in place
    (bob,) = trashed["replies"]
    assert bob["author"]["name"] == "Bob"
    assert bob["body_html"] == ("<p>A reply that comes before its parent.<br>Second line.</p>"
                                "<p>Second paragraph with <strong>bold</strong> &amp; an "
                                "ampersand.</p>")
    assert (bob["upvotes"], bob["downvotes"], bob["score"]) == (4, 1, 3)  # like/dislike meta
    assert anonymous["author"]["name"] == "Guest"
    assert (anonymous["upvotes"], anonymous["downvotes"]) == (0, 2)  # net wpdiscuz_votes -2
    assert anonymous["body_html"] == "<p>No author, entities: not bold &amp; café</p>"
    # comment_date_gmt of zeros: the local comment_date is used
    assert anonymous["created_at"] == "2020-01-03T09:00:00Z"

    closed = thread(tc, "/2020/02/closed/", site="wp")
    assert closed["thread"]["locked"] is True
    assert closed["comments"][0]["body_html"] == "<p>Already has paragraphs.</p><p>Two of them.</p>"

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            got: dict[str, Any] = {
                r.source_key: r for r in conn.execute(text(
                    "SELECT source_key, status, ip_hash, reply_count FROM comments"))
            }
    finally:
        engine.dispose()
    assert got["wordpress:12:10"].status == "rejected"  # spam
    assert got["wordpress:12:11"].status == "pending"
    assert got["wordpress:12:5"].reply_count == 1
    assert got["wordpress:12:7"].ip_hash == "h(203.0.113.9)"
