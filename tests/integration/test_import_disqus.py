"""Disqus import (issue 5): tree shape, statuses, sanitising, idempotency, all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tests.factories import thread

from rejoinder.domain.moderation import Label, Scores
from rejoinder.importers.disqus import DisqusSource
from rejoinder.importers.pipeline import ImportOptions, Reviewer, SiteSpec, Summary, run_import
from rejoinder.importers.records import ImportFailed, KeyMap
from rejoinder.services.sites import create_site
from rejoinder.storage.engine import Database

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BLOG = SiteSpec(origins=["https://blog.example.org"])


def hash_ip(ip: str) -> str:
    return f"h({ip})"


def do_import(db_url: str, path: Path, site: str = "blog", **kw: Any) -> Summary:
    reviewer = kw.pop("reviewer", None)
    create = kw.pop("create_site", None)
    db = Database(db_url, pool_size=1)
    try:
        return run_import(db, site, DisqusSource(path), ImportOptions(**kw), hash_ip=hash_ip,
                          now=NOW, reviewer=reviewer, create_site=create)
    finally:
        db.dispose()


def rows(db_url: str, sql: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


@pytest.fixture
def blog(app_factory: Callable[..., TestClient]) -> TestClient:
    tc = app_factory()
    create_site(tc.app.state.services, "blog", ["https://blog.example.org"])  # type: ignore[attr-defined]
    return tc


def test_disqus_import_keeps_the_tree_and_maps_statuses(blog: TestClient, db_url: str) -> None:
    summary = do_import(db_url, FIXTURES / "disqus.xml")
    assert summary.comments == {"published": 6, "deleted": 1, "pending": 1, "rejected": 1}
    assert summary.skipped == {"comments of deleted threads": 1}
    assert summary.orphans == 1  # post 106: its parent is not in the file
    assert summary.threads == 3 and summary.threads_created == 3

    page = thread(blog, "/2020/01/post/", site="blog")
    assert page["thread"]["title"] == "Fish & Chips: a <review>"
    assert page["thread"]["comment_count"] == 4
    tops = page["comments"]
    # Oldest first: Grace, then the deleted parent (kept: it has replies), then the orphan.
    assert [c["author"]["name"] for c in tops] == ["Grace", "[deleted]", "Frank"]
    deleted = tops[1]
    assert deleted["deleted"] is True and deleted["body_html"] == ""
    (guest,) = deleted["replies"]
    assert guest["author"]["name"] == "Guest"  # no <name> in the export
    assert guest["body_html"] == "<p>Entity-escaped HTML: fish &amp; chips, 3 &lt; 4</p>"
    (carol,) = guest["replies"]
    assert carol["author"]["name"] == "Carol"
    assert guest["id"] < carol["id"]  # replies listed before their parents still get later ids

    # A post listed before its thread, in a closed thread.
    page = thread(blog, "/2020/03/closed/?utm_source=x", site="blog")
    assert page["thread"]["locked"] is True
    assert [c["author"]["name"] for c in page["comments"]] == ["Early Bird"]

    # HTML is sanitised like new comments'.
    (row,) = rows(db_url, "SELECT body_html, body_md, ip_hash FROM comments "
                          "WHERE source_key = 'disqus:103'")
    assert "<script" not in row.body_html and "javascript:" not in row.body_html
    assert "onclick" not in row.body_html
    assert '<a href="https://example.org/a" rel="nofollow ugc noopener">good link</a>' in row.body_html
    # Disqus-hosted images become links: comments never load third-party images.
    assert "<img" not in row.body_html
    assert 'href="https://uploads.disquscdn.com/images/cat.jpg"' in row.body_html
    assert row.body_md.startswith("Reply to a reply, listed first.")
    assert "<" not in row.body_md
    (early,) = rows(db_url, "SELECT ip_hash FROM comments WHERE source_key = 'disqus:9001'")
    assert early.ip_hash == "h(198.51.100.20)"  # the keyed hash, never the raw address


def test_dry_run_then_rerun_is_idempotent(db_url: str) -> None:
    dry = do_import(db_url, FIXTURES / "disqus.xml", create_site=BLOG, dry_run=True)
    assert dry.inserted == 9 and dry.dry_run
    assert rows(db_url, "SELECT count(*) FROM comments")[0][0] == 0
    assert rows(db_url, "SELECT count(*) FROM sites")[0][0] == 0  # created and rolled back

    do_import(db_url, FIXTURES / "disqus.xml", create_site=BLOG)
    before = rows(db_url, "SELECT id, parent_id, root_id, reply_count FROM comments ORDER BY id")
    again = do_import(db_url, FIXTURES / "disqus.xml", create_site=BLOG)
    assert again.inserted == 0
    assert again.skipped["already imported"] == 9
    assert rows(db_url, "SELECT id, parent_id, root_id, reply_count FROM comments "
                        "ORDER BY id") == before
    assert rows(db_url, "SELECT count(*) FROM threads")[0][0] == 3


def test_forum_filter_key_mapping_and_latin1(blog: TestClient, db_url: str) -> None:
    summary = do_import(
        db_url, FIXTURES / "disqus.xml", forums=frozenset({"exampleblog"}),
        keys=KeyMap(rewrite=(("/2020/", "/archive/2020/"),)),
    )
    assert summary.skipped["comments of other forums"] == 1
    keys = {r.key for r in rows(db_url, "SELECT key FROM threads")}
    assert keys == {"/archive/2020/01/post/", "/archive/2020/03/closed/?utm_source=x"}

    # A file declared (and encoded) as ISO-8859-1; whole URLs as keys.
    do_import(db_url, FIXTURES / "disqus-latin1.xml", keys=KeyMap(keep_domain=True))
    page = thread(blog, "http://latin.example.org/café/", site="blog")
    assert page["thread"]["title"] == "Café crème"
    (c,) = page["comments"]
    assert c["author"]["name"] == "Renée"
    assert c["body_html"] == "<p>Déjà vu à la cafétéria, © ½</p>"


def test_truncated_file_reports_the_line_and_imports_nothing(db_url: str) -> None:
    with pytest.raises(ImportFailed, match=r"line 6, column \d+"):
        do_import(db_url, FIXTURES / "disqus-truncated.xml", create_site=BLOG)
    for table in ("sites", "threads", "comments"):
        assert rows(db_url, f"SELECT count(*) FROM {table}")[0][0] == 0
    with pytest.raises(ImportFailed, match="no site 'blog'"):
        do_import(db_url, FIXTURES / "disqus.xml")


def test_reply_cycle_becomes_top_level(db_url: str, tmp_path: Path) -> None:
    post = ('<post dsq:id="{id}"><message>&lt;p&gt;{id}&lt;/p&gt;</message>'
            '<createdAt>2020-01-01T0{id}:00:00Z</createdAt><thread dsq:id="1"/>'
            '<parent dsq:id="{parent}"/></post>')
    path = tmp_path / "cycle.xml"
    path.write_text(
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
        '<thread dsq:id="1"><link>https://blog.example.org/c/</link></thread>'
        + post.format(id=1, parent=2) + post.format(id=2, parent=1)
        + post.format(id=3, parent=3) + "</disqus>"
    )
    summary = do_import(db_url, path, create_site=BLOG)
    assert summary.orphans == 3
    got = rows(db_url, "SELECT parent_id, root_id = id AS own_root FROM comments")
    assert [(r.parent_id, bool(r.own_root)) for r in got] == [(None, True)] * 3


class _HateIfTopLevel:
    """A classifier double (the Classifier port): hateful when the text says "Top-level"."""

    name = "test"
    version = "1"

    def score(self, texts: Sequence[str]) -> list[Scores]:
        return [Scores({Label.HATE: 0.9 if "Top-level" in t else 0.0}) for t in texts]


def test_moderate_holds_what_the_policy_holds(blog: TestClient, db_url: str) -> None:
    summary = do_import(
        db_url, FIXTURES / "disqus.xml",
        reviewer=lambda site: Reviewer(_HateIfTopLevel(), site.settings.policy()),
    )
    assert summary.held == 1
    (row,) = rows(db_url, "SELECT status, moderation FROM comments "
                          "WHERE source_key = 'disqus:107'")
    assert row.status == "pending"
    assert "hate" in str(row.moderation)
    assert thread(blog, "/2020/01/post/", site="blog")["thread"]["comment_count"] == 3


def test_worker_process_and_inline_give_the_same_rows(db_url: str) -> None:
    """Rows built in a worker process (the default with two CPUs) equal rows built inline."""
    columns = ("c.id, c.parent_id, c.root_id, c.status, c.body_md, c.body_html, c.author_name, "
               "c.author_email, c.ip_hash, c.reply_count, c.source_key, c.created_at")
    got = []
    for site, workers in (("inline", 0), ("worker", 1)):
        summary = do_import(db_url, FIXTURES / "disqus.xml", site=site, create_site=BLOG,
                            workers=workers)
        assert summary.inserted == 9
        found = rows(db_url, f"SELECT {columns} FROM comments c JOIN sites s "
                             f"ON s.id = c.site_id WHERE s.slug = '{site}' ORDER BY c.id")
        first = found[0].id

        def rel(value: int | None, first: int = first) -> int | None:
            return None if value is None else value - first

        got.append([(rel(r.id), rel(r.parent_id), rel(r.root_id), *tuple(r)[3:]) for r in found])
    inline, worker = got
    assert len(inline) == 9 and inline == worker


def test_file_broken_after_rows_were_streamed_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    """The error comes while rows are already streaming to staging (PostgreSQL: an open COPY;
    3,000 posts, so rows are back from the worker before the break): all rolled back."""
    posts = "".join(
        f'<post dsq:id="{i}"><message>&lt;p&gt;comment {i}&lt;/p&gt;</message>'
        f'<createdAt>2020-01-01T00:00:00Z</createdAt><thread dsq:id="1"/></post>\n'
        for i in range(1, 3001)
    )
    path = tmp_path / "broken.xml"
    path.write_text(
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
        '<thread dsq:id="1"><link>https://blog.example.org/b/</link></thread>\n'
        + posts + '<post dsq:id="x"><message>unclosed'
    )
    with pytest.raises(ImportFailed,
                       match=r"line 3002, column \d+: Premature end of data in tag message$"):
        do_import(db_url, path, create_site=BLOG, batch_size=10)
    for table in ("sites", "threads", "comments"):
        assert rows(db_url, f"SELECT count(*) FROM {table}")[0][0] == 0
    # The connection is usable again and the same file, fixed, imports completely.
    path.write_text(path.read_text() + "</message><createdAt>2020-01-02T00:00:00Z</createdAt>"
                    '<thread dsq:id="1"/></post></disqus>')
    assert do_import(db_url, path, create_site=BLOG, batch_size=10).inserted == 3001


class _DyingReader:
    """A source whose reading process dies half-way (killed, out of memory, a crash in C)."""

    system = "disqus"
    total = None
    position = 0

    def __init__(self, path: Path) -> None:
        self.inner = DisqusSource(path)

    def records(self) -> Any:
        import os

        for n, record in enumerate(self.inner.records()):
            if n == 5:
                os._exit(3)
            yield record


def test_worker_death_fails_the_import_and_leaves_nothing(db_url: str) -> None:
    db = Database(db_url, pool_size=1)
    try:
        with pytest.raises(ImportFailed, match=r"worker process died \(exit code 3\)"):
            run_import(db, "blog", _DyingReader(FIXTURES / "disqus.xml"),
                       ImportOptions(workers=1), hash_ip=hash_ip, now=NOW, create_site=BLOG)
    finally:
        db.dispose()
    for table in ("sites", "threads", "comments"):
        assert rows(db_url, f"SELECT count(*) FROM {table}")[0][0] == 0


@pytest.mark.postgres
def test_postgres_import_session_gets_a_bigger_temp_pool_or_goes_on_with_its_own(
    pg_url: str,
) -> None:
    """ADR 0018: the import's session sets `temp_buffers` for its temporary tables; a session
    that has used temporary tables already cannot change it, and the import still works."""
    from rejoinder.storage.bulk import _PG_TEMP_BUFFERS, CommentStager

    fresh = create_engine(pg_url, poolclass=NullPool)
    try:
        with fresh.connect() as conn, conn.begin():
            assert CommentStager(conn, 1)._temp_buffers()
            assert conn.exec_driver_sql("SHOW temp_buffers").scalar() == _PG_TEMP_BUFFERS
    finally:
        fresh.dispose()
    db = Database(pg_url, pool_size=1)
    try:
        with db.writer.connect() as conn:  # the pool's one idle connection: the import gets it
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            conn.exec_driver_sql("SET temp_buffers = '9MB'")  # whatever the server's default
            conn.exec_driver_sql("CREATE TEMPORARY TABLE used_before (i int)")
            conn.exec_driver_sql("INSERT INTO used_before VALUES (1)")  # the pool is fixed now
            conn.commit()
            with conn.begin():
                assert not CommentStager(conn, 1)._temp_buffers()
                assert conn.exec_driver_sql("SHOW temp_buffers").scalar() == "9MB"
        summary = run_import(db, "blog", DisqusSource(FIXTURES / "disqus.xml"), ImportOptions(),
                             hash_ip=hash_ip, now=NOW, create_site=BLOG)
        with db.writer.connect() as conn:  # the import ran in that very session
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid
    finally:
        db.dispose()
    assert summary.comments == {"published": 6, "deleted": 1, "pending": 1, "rejected": 1}
    assert rows(pg_url, "SELECT count(*) FROM comments")[0][0] == 9
