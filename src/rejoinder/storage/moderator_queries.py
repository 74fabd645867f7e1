"""SQL for the moderator pages (issue 4): the queue with its context, undo, stats, export.

`ModeratorStore` extends `SqlStore` (so a use case keeps `set_status`, `add_audit`, `add_ban` …
inside the same transaction) with reads that return plain dataclasses. Every query is portable
SQL; JSON columns are decoded in Python, never queried with dialect-specific operators.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update

from rejoinder.domain.comments import Comment, CommentStatus
from rejoinder.domain.sites import ApiToken, Role, Thread
from rejoinder.storage.engine import Database
from rejoinder.storage.repositories import (
    SqlStore,
    _comment,
    audit,
    bans,
    comments,
    flags,
    threads,
    tokens,
)
from rejoinder.storage.uow import _unavailable_on_disconnect

DECISION_ACTIONS = ("approve", "reject", "ban_author", "shadow_ban")


@dataclass(frozen=True, slots=True)
class FlagInfo:
    id: int
    reason: str
    note: str | None


@dataclass(frozen=True, slots=True)
class ParentInfo:
    id: int
    author_name: str | None
    body_html: str
    status: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    comment_id: int | None
    actor: str
    action: str
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """A moderator's decision joined with the comment it was about (for export and stats)."""

    audit: AuditEntry
    body_md: str
    moderation: dict[str, Any] | None
    comment_created_at: datetime


@dataclass(frozen=True, slots=True)
class CommentStat:
    created_at: datetime
    status: str
    verdict_action: str | None


class ModeratorStore(SqlStore):
    """`SqlStore` plus the moderator pages' queries, on the caller's connection."""

    def token_by_id(self, token_id: int) -> ApiToken | None:
        """The token with this id unless it was revoked (sessions re-check it on every request)."""
        row = self.conn.execute(
            select(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
        ).first()
        return ApiToken(id=row.id, site_id=row.site_id, role=Role(row.role)) if row else None

    def revoke_token(self, token_id: int, now: datetime) -> bool:
        result = self.conn.execute(
            update(tokens)
            .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(result.rowcount)

    def queue_items(self, site_id: int, limit: int) -> list[tuple[Comment, Thread]]:
        """Pending and reader-flagged published comments with their threads, newest first."""
        q = (
            select(comments, *(c.label(f"t_{c.name}") for c in threads.c))
            .join(threads, threads.c.id == comments.c.thread_id)
            .where(
                comments.c.site_id == site_id,
                (comments.c.status == CommentStatus.PENDING.value)
                | ((comments.c.status == CommentStatus.PUBLISHED.value)
                   & (comments.c.flag_count > 0)),
            )
            .order_by(comments.c.id.desc())
            .limit(limit)
        )
        out = []
        for row in self.conn.execute(q):
            m = row._mapping
            thread = Thread(id=m["t_id"], site_id=m["t_site_id"], key=m["t_key"],
                            title=m["t_title"], url=m["t_url"], locked=m["t_locked"],
                            comment_count=m["t_comment_count"], created_at=m["t_created_at"])
            out.append((_comment(row), thread))
        return out

    def parents(self, ids: Sequence[int]) -> dict[int, ParentInfo]:
        if not ids:
            return {}
        rows = self.conn.execute(
            select(comments.c.id, comments.c.author_name, comments.c.body_html,
                   comments.c.status).where(comments.c.id.in_(ids))
        )
        return {r.id: ParentInfo(r.id, r.author_name, r.body_html, r.status) for r in rows}

    def author_history(self, site_id: int, ip_hashes: Sequence[str]) -> dict[str, dict[str, int]]:
        """Counts of each author's comments on the site by status, matched by IP hash."""
        if not ip_hashes:
            return {}
        rows = self.conn.execute(
            select(comments.c.ip_hash, comments.c.status, func.count())
            .where(comments.c.site_id == site_id, comments.c.ip_hash.in_(ip_hashes))
            .group_by(comments.c.ip_hash, comments.c.status)
        )
        out: dict[str, dict[str, int]] = {}
        for ip_hash, status, n in rows:
            out.setdefault(ip_hash, {})[status] = int(n)
        return out

    def banned(self, site_id: int, ip_hashes: Sequence[str], author_ids: Sequence[int] = ()
               ) -> tuple[dict[str, str], dict[int, str]]:
        """Ban reasons of the given authors: by IP hash, and by account (signed-in authors)."""
        if not ip_hashes and not author_ids:
            return {}, {}
        rows = self.conn.execute(
            select(bans.c.ip_hash, bans.c.author_id, bans.c.reason)
            .where(bans.c.site_id == site_id,
                   or_(bans.c.ip_hash.in_(ip_hashes), bans.c.author_id.in_(author_ids)))
        )
        by_ip: dict[str, str] = {}
        by_author: dict[int, str] = {}
        for r in rows:
            by_ip[r.ip_hash] = r.reason or ""
            if r.author_id is not None:
                by_author[r.author_id] = r.reason or ""
        return by_ip, by_author

    def open_flags(self, comment_ids: Sequence[int]) -> dict[int, list[FlagInfo]]:
        if not comment_ids:
            return {}
        rows = self.conn.execute(
            select(flags.c.id, flags.c.comment_id, flags.c.reason, flags.c.note)
            .where(flags.c.comment_id.in_(comment_ids), flags.c.resolved.is_(False))
            .order_by(flags.c.id)
        )
        out: dict[int, list[FlagInfo]] = {}
        for r in rows:
            out.setdefault(r.comment_id, []).append(FlagInfo(r.id, r.reason, r.note))
        return out

    def reopen_flags(self, comment_id: int, flag_ids: Sequence[int]) -> None:
        """Undo of `clear_flags` for the flags a decision resolved."""
        if not flag_ids:
            return
        self.conn.execute(
            update(flags).where(flags.c.id.in_(flag_ids)).values(resolved=False)
        )
        n = self.conn.execute(
            select(func.count()).select_from(flags)
            .where(flags.c.comment_id == comment_id, flags.c.resolved.is_(False))
        ).scalar_one()
        self.conn.execute(update(comments).where(comments.c.id == comment_id)
                          .values(flag_count=int(n)))

    def add_ban_returning(self, site_id: int, ip_hash: str, reason: str, now: datetime,
                          author_id: int | None = None) -> bool:
        """Ban an author (address, and account if signed in); False if they were banned
        already (the old ban is kept)."""
        if self.ban_kind(site_id, ip_hash, author_id) is not None:
            return False
        self.conn.execute(insert(bans).values(site_id=site_id, ip_hash=ip_hash,
                                              author_id=author_id, reason=reason,
                                              created_at=now))
        return True

    def remove_ban(self, site_id: int, ip_hash: str) -> None:
        """Lift the ban made from this address (its account ban is the same row)."""
        self.conn.execute(delete(bans).where(bans.c.site_id == site_id, bans.c.ip_hash == ip_hash))

    def recent_audit(self, site_id: int, actor: str, limit: int = 500) -> list[AuditEntry]:
        rows = self.conn.execute(
            select(audit).where(audit.c.site_id == site_id, audit.c.actor == actor)
            .order_by(audit.c.id.desc()).limit(limit)
        )
        return [_audit(r) for r in rows]

    def decisions(self, site_id: int, since: datetime | None = None) -> list[DecisionRow]:
        """Every decision and undo in the audit log, oldest first, with its comment."""
        q = (
            select(audit, comments.c.body_md, comments.c.moderation,
                   comments.c.created_at.label("c_created_at"))
            .join(comments, comments.c.id == audit.c.comment_id)
            .where(audit.c.site_id == site_id,
                   audit.c.action.in_((*DECISION_ACTIONS, "undo")))
            .order_by(audit.c.id)
        )
        if since is not None:
            q = q.where(audit.c.created_at >= since)
        return [DecisionRow(_audit(r), r.body_md, r.moderation, r.c_created_at)
                for r in self.conn.execute(q)]

    def comment_stats(self, site_id: int, since: datetime) -> list[CommentStat]:
        rows = self.conn.execute(
            select(comments.c.created_at, comments.c.status, comments.c.moderation)
            .where(comments.c.site_id == site_id, comments.c.created_at >= since)
        )
        return [CommentStat(r.created_at, r.status, (r.moderation or {}).get("action"))
                for r in rows]


def _audit(row: Any) -> AuditEntry:
    return AuditEntry(row.id, row.comment_id, row.actor, row.action, dict(row.detail or {}),
                      row.created_at)


class ModeratorUnitOfWork:
    """Transactions yielding a `ModeratorStore` (same engines as `SqlUnitOfWork`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def read(self) -> Iterator[ModeratorStore]:
        with _unavailable_on_disconnect(), self.db.reader.connect() as conn, conn.begin():
            yield ModeratorStore(conn)

    @contextmanager
    def write(self) -> Iterator[ModeratorStore]:
        with _unavailable_on_disconnect(), self.db.writer.connect() as conn, conn.begin():
            yield ModeratorStore(conn)
