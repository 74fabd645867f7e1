"""`rejoinder backup` and `rejoinder restore`, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.factories import count_rows, post
from typer.testing import CliRunner

from rejoinder.cli import app


def test_backup_then_restore(client: TestClient, db_url: str, tmp_path: Path,
                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REJOINDER_ENV", "development")
    monkeypatch.setenv("REJOINDER_DATABASE_URL", db_url)
    kept = post(client, "Written before the backup")
    target = tmp_path / "backup.dump"
    result = CliRunner().invoke(app, ["backup", str(target)])
    assert result.exit_code == 0, result.stderr
    assert target.stat().st_size > 0

    watcher = client.app.state.epoch  # type: ignore[attr-defined]
    watcher.stop()  # the test looks itself
    watcher.check()
    post(client, "Written after the backup: gone after the restore")
    assert count_rows(client, "comments") == 2
    refused = CliRunner().invoke(app, ["restore", str(target)])
    assert refused.exit_code == 2 and count_rows(client, "comments") == 2
    client.app.state.db.dispose()  # type: ignore[attr-defined]  # "stop the server"
    result = CliRunner().invoke(app, ["restore", "--yes", str(target)])
    assert result.exit_code == 0, result.stderr
    assert count_rows(client, "comments") == 1
    # A server left running is told: the backup holds the epoch it saw last, so the restore
    # must move it beyond that, or the server would keep serving the lost comment from cache.
    assert watcher.check() is True
    with client.app.state.services.uow.read() as store:  # type: ignore[attr-defined]
        assert store.comment(kept["id"]).body_md == "Written before the backup"
    missing = CliRunner().invoke(app, ["restore", "--yes", str(tmp_path / "nope")])
    assert missing.exit_code == 1
