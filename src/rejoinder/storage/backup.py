"""Online backups and restores: SQLite's backup API, or pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    pass


def _pg_dsn(url: str) -> str:
    # libpq tools take the plain postgresql:// form (no SQLAlchemy driver suffix).
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _schema_args(url: str) -> list[str]:
    """Only the schema the server uses, when its URL pins one (`options=-csearch_path=S`)."""
    options = str(make_url(url).query.get("options", ""))
    if "search_path=" in options:
        return [f"--schema={options.split('search_path=', 1)[1].split()[0].split(',')[0]}"]
    return []


def backup(url: str, target: Path) -> None:
    """Write a consistent copy of the database at `url` to `target`, while it is in use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = sqlite3.connect(parsed.database or "")
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)  # page by page, consistent even under concurrent writes
        finally:
            dest.close()
            source.close()
        return
    tool = shutil.which("pg_dump")
    if tool is None:
        raise BackupError("pg_dump is not installed (Debian: postgresql-client)")
    # The argument list is ours and there is no shell; only file names come from the admin.
    args = [tool, "--format=custom", "--no-owner", f"--file={target}", *_schema_args(url),
            _pg_dsn(url)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(done.stderr.strip() or "pg_dump failed")


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` with the backup in `source` (stop the servers first)."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        src = sqlite3.connect(source)
        dest = sqlite3.connect(parsed.database or "")
        try:
            with dest:
                src.backup(dest)
        finally:
            dest.close()
            src.close()
        return
    tool = shutil.which("pg_restore")
    if tool is None:
        raise BackupError("pg_restore is not installed (Debian: postgresql-client)")
    args = [tool, "--clean", "--if-exists", "--no-owner", "--single-transaction",
            f"--dbname={_pg_dsn(url)}", str(source)]
    # The argument list is ours and there is no shell; only file names come from the admin.
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(done.stderr.strip() or "pg_restore failed")
