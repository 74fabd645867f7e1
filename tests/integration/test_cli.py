"""The `rejoinder` command line: sites, tokens, export, configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from rejoinder.cli import app
from rejoinder.config import Settings, load_settings


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    values = {"REJOINDER_ENV": "development", "REJOINDER_DATABASE_URL": db_url,
              "REJOINDER_DATA_DIR": str(tmp_path)}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    yield values


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_site_token_export(env: dict[str, str]) -> None:
    code, out, _ = run("site", "create", "blog", "--origin", "https://blog.example.org",
                       "--origin", "https://www.blog.example.org/")
    assert code == 0 and "created site blog" in out
    code, _, err = run("site", "create", "blog", "--origin", "https://x.example.org")
    assert code == 1 and "exists already" in err
    code, _, err = run("site", "create", "Bad Slug", "--origin", "https://x.example.org")
    assert code == 1
    code, out, _ = run("site", "list")
    assert "https://www.blog.example.org" in out  # trailing slash dropped

    code, out, _ = run("token", "create", "--site", "blog", "--role", "moderator")
    assert code == 0 and out.strip().startswith("rj_") and len(out.strip()) > 40
    code, _, err = run("token", "create", "--site", "nosuch", "--role", "admin")
    assert code == 1 and "no site" in err
    code, _, _ = run("token", "create", "--site", "blog", "--role", "emperor")
    assert code == 2

    code, out, _ = run("site", "set", "blog", "flood_max=20", "moderator_email=m@example.org")
    assert code == 0 and "flood_max, moderator_email" in out
    assert run("site", "set", "blog", "nonsense")[0] == 2

    code, out, _ = run("site", "sso-secret", "blog")
    assert code == 0 and len(out.strip()) >= 32
    assert run("site", "sso-secret", "nosuch")[0] == 1

    code, out, _ = run("export", "--site", "blog")
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert [line["type"] for line in lines] == ["site"]
    assert lines[0]["data"]["slug"] == "blog"


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    assert run("migrate")[0] == 0
    assert run("migrate")[0] == 0


def test_insecure_defaults_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REJOINDER_SECRET_KEY", raising=False)
    monkeypatch.setenv("REJOINDER_ENV", "production")
    with pytest.raises(ValueError, match="REJOINDER_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("REJOINDER_SECRET_KEY", "development-only-secret-key-do-not-use-in-production")
    with pytest.raises(ValueError):
        Settings()
    monkeypatch.setenv("REJOINDER_SECRET_KEY", "a" * 32)
    assert Settings().secret_key == "a" * 32
    monkeypatch.delenv("REJOINDER_SECRET_KEY")
    code, _, err = run("migrate")
    assert code == 2 and "REJOINDER_SECRET_KEY" in err


def test_site_create_reads_several_origins_and_refuses_ones_that_never_match(
    env: dict[str, str],
) -> None:
    # The contract's form, `--origin URL…`, as well as a repeated --origin.
    code, out, err = run("site", "create", "multi", "--origin", "https://a.example.org",
                         "https://B.example.org:8443/")
    assert code == 0, err
    assert "https://a.example.org, https://b.example.org:8443" in out
    for bad in ("https://x.example.org/path", "https://a.example.org,https://b.example.org",
                "https://user@x.example.org", "ftp://x.example.org"):
        code, _, err = run("site", "create", "never", "--origin", bad)
        assert code == 1 and "origin" in err, (bad, err)
    assert "never" not in run("site", "list")[1]


def test_toml_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "rejoinder.toml"
    cfg.write_text('env = "development"\nrate_limits = "off"\nedit_window_s = 60\n'
                   'public_url = "https://comments.example.org/"\n')
    for k in list(os.environ):
        if k.startswith("REJOINDER_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("REJOINDER_EDIT_WINDOW_S", "120")  # the environment wins over the file
    s = load_settings(cfg)
    assert "REJOINDER_CONFIG_FILE" not in os.environ  # no side effect on later settings
    assert s.rate_limits is False and s.edit_window_s == 120
    assert s.public_url == "https://comments.example.org"


def test_toml_keys_may_be_written_as_the_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = tmp_path / "rejoinder.toml"
    cfg.write_text('REJOINDER_ENV = "development"\nREJOINDER_PUBLIC_URL = "https://c.example.org"\n'
                   'Rate_Limits = "off"\n')
    for k in list(os.environ):
        if k.startswith("REJOINDER_"):
            monkeypatch.delenv(k)
    s = load_settings(cfg)
    assert s.public_url == "https://c.example.org" and s.rate_limits is False


def test_a_missing_config_file_is_an_error_not_the_defaults(env: dict[str, str],
                                                            tmp_path: Path) -> None:
    code, _, err = run("site", "list", "--config", str(tmp_path / "nonexistent.toml"))
    assert code == 2 and "does not exist" in err


def test_classify_uses_the_sites_policy(env: dict[str, str]) -> None:
    assert run("site", "create", "strict", "--origin", "https://strict.example.org")[0] == 0
    assert run("site", "set", "strict", 'blocklist=["ferry tickets"]',
               'moderation={"reject": {"abuse": 0.95}}')[0] == 0
    lines = ('{"id": 1, "text": "Cheap ferry tickets here"}\n'
             '{"id": "b", "text": "The council met on Tuesday."}\n'
             "not json\n")
    result = CliRunner().invoke(app, ["moderate", "classify", "--site", "strict",
                                      "--backend", "keywords"], input=lines)
    assert result.exit_code == 0, result.stderr
    verdicts = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [v["id"] for v in verdicts] == [1, "b", None]
    assert verdicts[0]["action"] == "reject"  # block list (0.99) over the site's reject bar
    assert verdicts[1]["action"] == "publish"
    assert verdicts[2]["action"] == "hold" and verdicts[2]["error"] == "invalid_input"
    assert "line 3 not scored" in result.stderr
    default = CliRunner().invoke(app, ["moderate", "classify", "--backend", "keywords"],
                                 input=lines)
    assert orjson.loads(default.stdout.splitlines()[0])["action"] == "publish"
    missing = CliRunner().invoke(app, ["moderate", "classify", "--site", "nosuch"], input="")
    assert missing.exit_code == 1


def test_cli_writes_reach_a_running_servers_cache(env: dict[str, str]) -> None:
    """A server without Redis caches thread pages; `site set` and `import` run in another
    process, so they move the cache epoch, and the server's watcher drops the stale pages."""
    from fastapi.testclient import TestClient

    from rejoinder.app import create_app

    assert run("site", "create", "blog", "--origin", "https://blog.example.org")[0] == 0
    with TestClient(create_app(Settings(rate_limits=False))) as tc:
        watcher = tc.app.state.epoch  # type: ignore[attr-defined]
        watcher.stop()  # the test looks itself, rather than wait for the thread's next second
        watcher.check()
        params = {"site": "blog", "thread": "/a"}
        assert tc.post("/api/v1/comments", json={**params, "body": "first"}).status_code == 201
        before = tc.get("/api/v1/comments", params=params).json()
        assert tc.get("/api/v1/comments", params=params).json() == before  # cached now
        assert run("site", "set", "blog", "edit_window_s=60")[0] == 0
        # Until the watcher looks, the cached page is what readers get: that is the staleness.
        assert tc.get("/api/v1/comments", params=params).json() == before
        assert watcher.check() is True
        after = tc.get("/api/v1/comments", params=params).json()
        assert after["edit_window_seconds"] == 60 != before["edit_window_seconds"]
        assert watcher.check() is False  # nothing moved since
        fixture = Path(__file__).resolve().parent.parent / "fixtures" / "imports" / "disqus.xml"
        assert run("import", "disqus", str(fixture), "--site", "blog")[0] == 0
        assert watcher.check() is True  # the import moved it too
        assert run("import", "disqus", str(fixture), "--site", "blog", "--dry-run")[0] == 0
        assert watcher.check() is False  # a dry run writes nothing, so tells nobody
