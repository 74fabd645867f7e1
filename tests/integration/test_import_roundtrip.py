"""`rejoinder export` → `rejoinder import rejoinder` into an empty database → export: identical.

Also the `rejoinder import …` command line: exit codes and messages a user sees.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_site, moderator_token
from tests.factories import post
from typer.testing import CliRunner

from rejoinder.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def cli(db_url: str, *args: str) -> tuple[int, bytes, str]:
    env = {"REJOINDER_ENV": "development", "REJOINDER_DATABASE_URL": db_url,
           "REJOINDER_REDIS_URL": "", "REJOINDER_MODERATION_BACKEND": "keywords"}
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def empty_db(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second, empty database of the same kind as `db_url`."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_export_import_export_is_identical(
    app_factory: Callable[..., TestClient], db_url: str, empty_db: str, tmp_path: Path
) -> None:
    # A site with every kind of row: posted comments and replies, votes, flags, a moderator's
    # action (audit), and imported comments (source_key).
    tc = app_factory()
    make_site(tc, "news", ["https://news.example.org"])
    first = post(tc, "First *post*", author_name="Ann", author_email="ann@example.net")
    reply = post(tc, "A reply", parent_id=first["id"])
    post(tc, "Elsewhere", thread="/other")
    assert tc.post(f"/api/v1/comments/{first['id']}/votes", json={"value": 1}).status_code == 200
    assert tc.post(f"/api/v1/comments/{reply['id']}/flags",
                   json={"reason": "spam"}).status_code == 201
    token = moderator_token(tc, "news")
    r = tc.post(f"/api/v1/moderation/comments/{reply['id']}", json={"action": "reject"},
                headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    # A reader account that comments and asks for reply mail, and a guest who follows the thread.
    r = tc.post("/api/v1/auth/register", json={"site": "news", "email": "bo@example.net",
                                               "password": "a long enough passphrase",
                                               "name": "Bo"})
    assert r.status_code == 201, r.text
    signed_in = {"Authorization": f"Bearer {r.json()['session_token']}"}
    r = tc.post("/api/v1/comments", headers=signed_in,
                json={"site": "news", "thread": "/2026/11/story", "body": "Signed in",
                      "notify": "replies"})
    assert r.status_code == 201, r.text
    post(tc, "Following", author_email="cy@example.net", notify="thread")
    code, _, err = cli(db_url, "import", "disqus", str(FIXTURES / "disqus.xml"), "--site", "news")
    assert code == 0, err

    code, a, err = cli(db_url, "export", "--site", "news")
    assert code == 0, err
    kinds = [line.split(b'"', 4)[3] for line in a.splitlines()]
    assert set(kinds) == {b"site", b"user", b"thread", b"comment", b"subscription", b"vote",
                          b"flag", b"audit"}
    assert kinds.count(b"subscription") == 2
    (tmp_path / "a.jsonl").write_bytes(a)

    code, out, err = cli(empty_db, "import", "rejoinder", str(tmp_path / "a.jsonl"))
    assert code == 0, err
    assert (b"rows new: 1 site, 1 user, 5 thread, 14 comment, 2 subscription, 1 vote, 1 flag"
            in out), out
    code, b, err = cli(empty_db, "export", "--site", "news")
    assert code == 0, err
    assert b == a
    # The reader's account works on the new server: same password, same name on their comment.
    tc_new = app_factory(database_url=empty_db)
    r = tc_new.post("/api/v1/auth/login", json={"site": "news", "email": "bo@example.net",
                                                "password": "a long enough passphrase"})
    assert r.status_code == 200, r.text

    # Idempotent: the same file again adds nothing.
    code, out, err = cli(empty_db, "import", "rejoinder", str(tmp_path / "a.jsonl"))
    assert code == 0, err
    assert (b"rows new: 0 site, 0 user, 0 thread, 0 comment, 0 subscription, 0 vote, 0 flag, "
            b"0 audit" in out), out
    # New comments after a lossless import do not collide with the imported ids.
    tc2 = app_factory(database_url=empty_db)
    assert post(tc2, "After the move")["id"] > max(first["id"], reply["id"])

    # Into the source database (ids taken by the same site under another name): refused.
    code, _, err = cli(db_url, "import", "rejoinder", str(tmp_path / "a.jsonl"),
                       "--site", "copy")
    assert code == 1
    assert "clashes" in err and "nothing was imported" in err


def test_cli_errors_are_reported_and_nothing_is_imported(db_url: str, tmp_path: Path) -> None:
    code, _, err = cli(db_url, "import", "disqus", str(FIXTURES / "disqus.xml"), "--site", "nope")
    assert code == 1 and "no site 'nope'" in err

    code, _, err = cli(db_url, "import", "disqus", str(FIXTURES / "disqus-truncated.xml"),
                       "--site", "blog", "--create-site", "--origin", "https://blog.example.org")
    assert code == 1
    assert "line 6" in err and "nothing was imported" in err

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "site", "data": {"id": 7, "slug": "x", "name": "x", "origins": [], '
                   '"settings": {}, "created_at": "2020-01-01T00:00:00Z"}}\n{"type": "comm\n')
    code, _, err = cli(db_url, "import", "rejoinder", str(bad))
    assert code == 1 and "line 2: not valid JSON" in err

    code, out, err = cli(db_url, "import", "wordpress", str(FIXTURES / "wordpress.xml"),
                         "--site", "wp", "--create-site", "--origin", "https://blog.example.org",
                         "--rewrite-prefix", "/2020/=/old/2020/", "--dry-run", "--moderate")
    assert code == 0, err
    assert b"would import from wordpress" in out and b"comments: 6" in out
    code, out, _ = cli(db_url, "site", "list")
    assert b"wp" not in out and b"blog" not in out  # dry run and failures left no site behind
