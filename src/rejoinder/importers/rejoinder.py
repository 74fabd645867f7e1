"""Our own export (`rejoinder export`) back in: every row with its own id, nothing recomputed.

Lossless: export → import into an empty database → export gives the same bytes. Rows keep their
ids (so links, votes and the audit log stay consistent), which needs those ids to be free: into a
database that already holds *other* sites with the same ids the import stops and rolls back.
Re-running the same file is idempotent (rows that exist already, by id, are left alone).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from rejoinder.importers.records import ImportFailed
from rejoinder.storage.bulk import (
    TABLES,
    bump_sequences,
    insert_ignoring_existing,
    owned,
    site_rows,
)
from rejoinder.storage.engine import Database
from rejoinder.storage.tables import UTCDateTime

Progress = Callable[[int, int], None]
_DATES = {kind: {c.name for c in t.columns if isinstance(c.type, UTCDateTime)}
          for kind, t in TABLES.items()}
_COLUMNS = {kind: {c.name for c in t.columns} for kind, t in TABLES.items()}


@dataclass
class RejoinderSummary:
    site: str = ""
    dry_run: bool = False
    read: Counter[str] = field(default_factory=Counter)
    new: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        kinds = [k for k in TABLES if self.read.get(k)]
        return [
            f"{verb} a Rejoinder export into site {self.site!r}"
            + (" (dry run: nothing was written)" if self.dry_run else ""),
            "rows read: " + ", ".join(f"{self.read[k]} {k}" for k in kinds),
            "rows new: " + ", ".join(f"{self.new.get(k, 0)} {k}" for k in kinds),
            f"took {self.seconds:.1f} s",
        ]


def import_rejoinder(
    db: Database, path: Path, *, site_slug: str | None = None, dry_run: bool = False,
    progress: Progress | None = None, batch_size: int = 2000,
) -> RejoinderSummary:
    """Import a `rejoinder export` file in one transaction (see the module docstring)."""
    started = time.perf_counter()
    summary = RejoinderSummary(dry_run=dry_run)
    with db.writer.connect() as conn:
        trans = conn.begin()
        try:
            _Loader(conn, path, site_slug, summary, progress, batch_size).run()
        except BaseException:
            trans.rollback()
            raise
        if dry_run:
            trans.rollback()
        else:
            trans.commit()
    summary.seconds = time.perf_counter() - started
    return summary


class _Loader:
    def __init__(
        self, conn: Connection, path: Path, site_slug: str | None, summary: RejoinderSummary,
        progress: Progress | None, batch_size: int,
    ) -> None:
        self.conn = conn
        self.path = path
        self.slug = site_slug
        self.summary = summary
        self.progress = progress
        self.batch_size = batch_size
        self.site_id: int | None = None
        self.before: dict[str, int] = {}
        self.kind = ""
        self.batch: list[dict[str, Any]] = []
        self.line = 0

    def run(self) -> None:
        position = 0
        with self.path.open("rb") as f:
            for self.line, raw in enumerate(f, start=1):
                position += len(raw)
                if not raw.strip():
                    continue
                kind, data = self._parse(raw)
                self.summary.read[kind] += 1
                if kind != self.kind or len(self.batch) >= self.batch_size:
                    self._flush()
                    self.kind = kind
                if kind == "site":
                    self._site(data)
                else:
                    self.batch.append(data)
                if self.progress and not self.line % 1000:
                    self.progress(position, self.line)
        self._flush()
        if self.site_id is None:
            raise ImportFailed(f"{self.path.name}: no site row (is this a `rejoinder export`?)")
        bump_sequences(self.conn, [t.name for t in TABLES.values()])
        self.summary.new = {
            k: site_rows(self.conn, k, self.site_id) - self.before.get(k, 0) for k in TABLES
        }

    def _parse(self, raw: bytes) -> tuple[str, dict[str, Any]]:
        where = f"{self.path.name}: line {self.line}"
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ImportFailed(f"{where}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("data"), dict):
            raise ImportFailed(f"{where}: expected {{\"type\": …, \"data\": {{…}}}}")
        kind = record.get("type")
        if kind not in TABLES:
            raise ImportFailed(f"{where}: unknown row type {kind!r}")
        data: dict[str, Any] = record["data"]
        unknown = set(data) - _COLUMNS[kind]
        if unknown:
            raise ImportFailed(f"{where}: unknown {kind} columns {sorted(unknown)} "
                               "(exported by a newer Rejoinder?)")
        if self.site_id is None and kind != "site":
            raise ImportFailed(f"{where}: a {kind} row before the site row")
        try:
            for name in _DATES[kind]:
                if isinstance(data.get(name), str):
                    data[name] = datetime.fromisoformat(data[name])
        except ValueError as exc:
            raise ImportFailed(f"{where}: {exc}") from exc
        return kind, data

    def _site(self, data: dict[str, Any]) -> None:
        if self.site_id is not None:
            raise ImportFailed(f"{self.path.name}: line {self.line}: a second site row")
        if self.slug:
            data["slug"] = self.slug
        self.summary.site = str(data.get("slug"))
        self.site_id = int(data["id"])
        sites = TABLES["site"]
        clash = self.conn.execute(
            select(sites.c.id, sites.c.slug).where(
                or_(sites.c.slug == data["slug"], sites.c.id == self.site_id)
            )
        ).all()
        if any(r.id != self.site_id or r.slug != data["slug"] for r in clash):
            raise ImportFailed(
                f"{self.path.name}: site {data['slug']!r} (id {self.site_id}) clashes with a site "
                "in this database; a lossless import keeps ids, so import into an empty database "
                "(or pass --site with a new name into a database without these ids)"
            )
        self.before = {k: site_rows(self.conn, k, self.site_id) for k in TABLES}
        insert_ignoring_existing(self.conn, "site", [data])

    def _flush(self) -> None:
        if not self.batch:
            return
        assert self.site_id is not None
        insert_ignoring_existing(self.conn, self.kind, self.batch)
        ids = [int(r["id"]) for r in self.batch]
        if owned(self.conn, self.kind, ids, self.site_id) != len(set(ids)):
            raise ImportFailed(
                f"{self.path.name}: before line {self.line}: some {self.kind} rows clash with "
                "rows of another site (same id or unique key); a lossless import keeps ids, "
                "so import into an empty database"
            )
        self.batch = []
