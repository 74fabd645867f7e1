"""SQL behind the `Store` port: queries and writes on one connection, returning domain objects."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from rejoinder.domain.comments import Comment, CommentNode, CommentStatus, SortOrder
from rejoinder.domain.errors import Conflict
from rejoinder.domain.sites import ApiToken, Role, Site, SiteSettings, Thread
from rejoinder.storage.accounts import AccountStore
from rejoinder.storage.outbox import NotificationRepo
from rejoinder.storage.tables import (
    AuditRow,
    BanRow,
    CommentRow,
    FlagRow,
    SiteRow,
    SubscriptionRow,
    ThreadRow,
    TokenRow,
    UserRow,
    VoteRow,
)

sites = cast(Table, SiteRow.__table__)
threads = cast(Table, ThreadRow.__table__)
comments = cast(Table, CommentRow.__table__)
votes = cast(Table, VoteRow.__table__)
flags = cast(Table, FlagRow.__table__)
tokens = cast(Table, TokenRow.__table__)
bans = cast(Table, BanRow.__table__)
audit = cast(Table, AuditRow.__table__)
users = cast(Table, UserRow.__table__)
subscriptions = cast(Table, SubscriptionRow.__table__)

VISIBLE = (CommentStatus.PUBLISHED.value, CommentStatus.DELETED.value)

# Statements every post runs, built once. Building a statement (`select(...).where(...)`) costs
# ~80 µs of Python each time, four times what executing the prebuilt one with parameters costs
# (measured on SQLite); a post runs about ten of them, so this is a good part of posting's CPU.
# Bound parameter names start with `p_` so they never clash with a column's in SET/VALUES.
_SITE_BY_SLUG = select(sites).where(sites.c.slug == bindparam("p_slug"))
_THREAD_BY_KEY = select(threads).where(
    threads.c.site_id == bindparam("p_site"), threads.c.key == bindparam("p_key"))
_BAN = select(bans.c.reason).where(
    bans.c.site_id == bindparam("p_site"), bans.c.ip_hash == bindparam("p_ip"))
# A signed-in author is banned by address or by account (migration 0010).
_BAN_EITHER = select(bans.c.reason).where(
    bans.c.site_id == bindparam("p_site"),
    or_(bans.c.ip_hash == bindparam("p_ip"), bans.c.author_id == bindparam("p_author")),
).limit(1)
RECENT_LIMIT = 20
_RECENT = {
    by: select(comments.c.body_md, comments.c.created_at)
    .where(comments.c.site_id == bindparam("p_site"), column == bindparam("p_who"))
    .order_by(comments.c.id.desc()).limit(RECENT_LIMIT)
    for by, column in (("author", comments.c.author_id), ("ip", comments.c.ip_hash))
}
_HAS_PUBLISHED = {
    by: select(comments.c.id).where(
        comments.c.site_id == bindparam("p_site"), column == bindparam("p_who"),
        comments.c.status == CommentStatus.PUBLISHED.value).limit(1)
    for by, column in (("author", comments.c.author_id), ("ip", comments.c.ip_hash))
}
_INSERT_COMMENT = insert(comments).returning(*comments.c)
_SET_ROOT = update(comments).where(comments.c.id == bindparam("p_id")).values(
    root_id=bindparam("p_root"))
_BUMP_THREAD = update(threads).where(threads.c.id == bindparam("p_id")).values(
    comment_count=threads.c.comment_count + bindparam("p_delta"))
_BUMP_PARENT = update(comments).where(comments.c.id == bindparam("p_id")).values(
    reply_count=comments.c.reply_count + bindparam("p_delta"))
_DELETED = CommentStatus.DELETED.value
_NODE_COLUMNS = (  # _node() unpacks these by position: keep the order in step
    comments.c.id,
    comments.c.parent_id,
    comments.c.status,
    comments.c.author_name,
    comments.c.is_guest,
    comments.c.body_html,
    comments.c.created_at,
    comments.c.edited_at,
    comments.c.score,
    comments.c.upvotes,
    comments.c.downvotes,
    comments.c.quote,
)


def _site(row: Row[Any]) -> Site:
    raw = dict(row.settings or {})
    return Site(
        id=row.id,
        slug=row.slug,
        name=row.name,
        origins=tuple(row.origins or ()),
        settings=SiteSettings.from_json(raw),
        raw_settings=raw,
    )


def _thread(row: Row[Any]) -> Thread:
    return Thread(
        id=row.id,
        site_id=row.site_id,
        key=row.key,
        title=row.title,
        url=row.url,
        locked=row.locked,
        comment_count=row.comment_count,
        created_at=row.created_at,
    )


def _comment(row: Row[Any]) -> Comment:
    return Comment(
        id=row.id,
        site_id=row.site_id,
        thread_id=row.thread_id,
        parent_id=row.parent_id,
        root_id=row.root_id,
        status=CommentStatus(row.status),
        body_md=row.body_md,
        body_html=row.body_html,
        author_name=row.author_name,
        author_email=row.author_email,
        is_guest=row.is_guest,
        ip_hash=row.ip_hash,
        edit_token_hash=row.edit_token_hash,
        created_at=row.created_at,
        edited_at=row.edited_at,
        author_id=row.author_id,
        score=row.score,
        upvotes=row.upvotes,
        downvotes=row.downvotes,
        reply_count=row.reply_count,
        flag_count=row.flag_count,
        notify=row.notify,
        quote=row.quote,
        moderation=row.moderation,
    )


def _node(row: Any) -> CommentNode:
    # Unpacked by position, in _NODE_COLUMNS' order: on the uncached thread read this runs for
    # every comment, and named access on a Row costs ten times as much (measured: 15 vs 1 µs).
    (id_, parent_id, status, author_name, is_guest, body_html, created_at, edited_at, score,
     upvotes, downvotes, quote) = row
    deleted = status == _DELETED
    return CommentNode(
        id=id_,
        parent_id=parent_id,
        author_name="[deleted]" if deleted else (author_name or "Guest"),
        is_guest=is_guest,
        body_html="" if deleted else body_html,
        created_at=created_at,
        edited_at=edited_at,
        score=score,
        upvotes=upvotes,
        downvotes=downvotes,
        deleted=deleted,
        quote=None if deleted else quote,
    )


class SqlStore:
    """Every read and write Rejoinder does, on one connection (inside the caller's transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Accounts and notifications have their own repositories (storage/accounts.py, outbox.py) on
    # this same connection, so their writes share the caller's transaction.
    def accounts(self) -> AccountStore:
        return AccountStore(self.conn)

    def notifications(self) -> NotificationRepo:
        return NotificationRepo(self.conn)

    # -- sites -------------------------------------------------------------------------------
    def site_by_slug(self, slug: str) -> Site | None:
        row = self.conn.execute(_SITE_BY_SLUG, {"p_slug": slug}).first()
        return _site(row) if row else None

    def site_by_id(self, site_id: int) -> Site | None:
        row = self.conn.execute(select(sites).where(sites.c.id == site_id)).first()
        return _site(row) if row else None

    def list_sites(self) -> list[Site]:
        return [_site(r) for r in self.conn.execute(select(sites).order_by(sites.c.id))]

    def create_site(
        self, slug: str, name: str, origins: Sequence[str], settings: dict[str, Any], now: datetime
    ) -> Site:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(sites).values(
                        slug=slug, name=name, origins=list(origins), settings=settings,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"site {slug!r} exists already", code="site_exists") from exc
        site = self.site_by_slug(slug)
        assert site is not None
        return site

    def update_site(
        self, site_id: int, *, origins: Sequence[str] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if origins is not None:
            values["origins"] = list(origins)
        if settings is not None:
            values["settings"] = settings
        if values:
            self.conn.execute(update(sites).where(sites.c.id == site_id).values(**values))

    # -- threads -----------------------------------------------------------------------------
    def thread(self, site_id: int, key: str) -> Thread | None:
        row = self.conn.execute(_THREAD_BY_KEY, {"p_site": site_id, "p_key": key}).first()
        return _thread(row) if row else None

    def thread_by_id(self, thread_id: int) -> Thread | None:
        row = self.conn.execute(select(threads).where(threads.c.id == thread_id)).first()
        return _thread(row) if row else None

    def ensure_thread(
        self, site_id: int, key: str, title: str | None, url: str | None, now: datetime
    ) -> Thread:
        """The thread with this key, created on first use (threads appear when first commented)."""
        found = self.thread(site_id, key)
        if found:
            if (title and not found.title) or (url and not found.url):
                self.conn.execute(
                    update(threads)
                    .where(threads.c.id == found.id)
                    .values(title=found.title or title, url=found.url or url)
                )
                found = self.thread_by_id(found.id)
                assert found is not None
            return found
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(threads).values(
                        site_id=site_id, key=key, title=title, url=url, locked=False,
                        comment_count=0, created_at=now,
                    )
                )
        except IntegrityError:
            pass  # created concurrently by another request: use theirs
        created = self.thread(site_id, key)
        assert created is not None
        return created

    def set_thread_locked(self, thread_id: int, locked: bool) -> None:
        self.conn.execute(update(threads).where(threads.c.id == thread_id).values(locked=locked))

    def counts(self, site_id: int, keys: Sequence[str]) -> dict[str, int]:
        rows = self.conn.execute(
            select(threads.c.key, threads.c.comment_count).where(
                threads.c.site_id == site_id, threads.c.key.in_(keys)
            )
        )
        found = {r.key: r.comment_count for r in rows}
        return {k: found.get(k, 0) for k in keys}

    # -- comments: reads ---------------------------------------------------------------------
    def comment(self, comment_id: int) -> Comment | None:
        row = self.conn.execute(select(comments).where(comments.c.id == comment_id)).first()
        return _comment(row) if row else None

    def comment_by_request_key(self, request_key: str) -> Comment | None:
        row = self.conn.execute(
            select(comments).where(comments.c.request_key == request_key)
        ).first()
        return _comment(row) if row else None

    def top_level_page(
        self, thread_id: int, order: SortOrder, after: tuple[int, ...] | None, limit: int
    ) -> list[CommentNode]:
        """One page of visible top-level comments, in `order`, after the cursor key."""
        q = select(*_NODE_COLUMNS).where(
            comments.c.thread_id == thread_id,
            comments.c.status.in_(VISIBLE),
            comments.c.parent_id.is_(None),
        )
        if order is SortOrder.TOP:
            q = q.order_by(comments.c.score.desc(), comments.c.id.asc())
            if after:
                neg_score, last_id = after[0], after[-1]
                q = q.where(
                    or_(
                        comments.c.score < -neg_score,
                        and_(comments.c.score == -neg_score, comments.c.id > last_id),
                    )
                )
        elif order is SortOrder.NEWEST:
            q = q.order_by(comments.c.id.desc())
            if after:
                q = q.where(comments.c.id < -after[0])
        else:
            q = q.order_by(comments.c.id.asc())
            if after:
                q = q.where(comments.c.id > after[0])
        return [_node(r) for r in self.conn.execute(q.limit(limit))]

    def replies_under(self, thread_id: int, root_ids: Sequence[int]) -> list[CommentNode]:
        """Every visible reply, at any depth, under the given top-level comments (one query)."""
        if not root_ids:
            return []
        q = (
            select(*_NODE_COLUMNS)
            .where(
                comments.c.thread_id == thread_id,
                comments.c.status.in_(VISIBLE),
                comments.c.root_id.in_(root_ids),
                comments.c.parent_id.is_not(None),
            )
            .order_by(comments.c.id)
        )
        return [_node(r) for r in self.conn.execute(q)]

    def queue(self, site_id: int, limit: int) -> list[tuple[Comment, Thread]]:
        """Pending comments and flagged published ones, newest first, with their threads."""
        q = (
            select(comments, threads.c.key.label("t_key"))
            .join(threads, threads.c.id == comments.c.thread_id)
            .where(
                comments.c.site_id == site_id,
                or_(
                    comments.c.status == CommentStatus.PENDING.value,
                    and_(
                        comments.c.status == CommentStatus.PUBLISHED.value,
                        comments.c.flag_count > 0,
                    ),
                ),
            )
            .order_by(comments.c.id.desc())
            .limit(limit)
        )
        out = []
        thread_cache: dict[int, Thread] = {}
        for row in self.conn.execute(q):
            c = _comment(row)
            if c.thread_id not in thread_cache:
                t = self.thread_by_id(c.thread_id)
                assert t is not None
                thread_cache[c.thread_id] = t
            out.append((c, thread_cache[c.thread_id]))
        return out

    # -- comments: writes --------------------------------------------------------------------
    def insert_comment(self, values: dict[str, Any]) -> Comment:
        """Insert a comment and return it as stored (defaults included), without a re-read."""
        row = self.conn.execute(_INSERT_COMMENT, values).one()
        comment = _comment(row)
        if values.get("parent_id") is None:
            # A top-level comment is its own root; its id is known only now.
            self.conn.execute(_SET_ROOT, {"p_id": comment.id, "p_root": comment.id})
            comment = replace(comment, root_id=comment.id)
        return comment

    def set_status(self, comment: Comment, status: CommentStatus) -> None:
        """Change a comment's status, keeping the published counters right in SQL."""
        self.conn.execute(
            update(comments).where(comments.c.id == comment.id).values(status=status.value)
        )
        was = comment.status is CommentStatus.PUBLISHED
        now = status is CommentStatus.PUBLISHED
        if was != now:
            self._bump_counts(comment, 1 if now else -1)

    def _bump_counts(self, comment: Comment, delta: int) -> None:
        self.conn.execute(_BUMP_THREAD, {"p_id": comment.thread_id, "p_delta": delta})
        if comment.parent_id is not None:
            self.conn.execute(_BUMP_PARENT, {"p_id": comment.parent_id, "p_delta": delta})

    def count_published(self, comment: Comment) -> None:
        """Count a just-inserted published comment in its thread and parent."""
        self._bump_counts(comment, 1)

    def update_body(
        self, comment_id: int, body_md: str, body_html: str, edited_at: datetime,
        moderation: dict[str, Any],
    ) -> None:
        self.conn.execute(
            update(comments)
            .where(comments.c.id == comment_id)
            .values(body_md=body_md, body_html=body_html, edited_at=edited_at,
                    moderation=moderation)
        )

    def set_moderation(self, comment_id: int, moderation: dict[str, Any]) -> None:
        self.conn.execute(
            update(comments).where(comments.c.id == comment_id).values(moderation=moderation)
        )

    def clear_flags(self, comment_id: int) -> None:
        self.conn.execute(
            update(flags).where(flags.c.comment_id == comment_id).values(resolved=True)
        )
        self.conn.execute(update(comments).where(comments.c.id == comment_id).values(flag_count=0))

    # -- votes and flags ---------------------------------------------------------------------
    def vote(self, comment_id: int, voter_key: str) -> int:
        row = self.conn.execute(
            select(votes.c.value).where(
                votes.c.comment_id == comment_id, votes.c.voter_key == voter_key
            )
        ).first()
        return int(row.value) if row else 0

    def set_vote(
        self, comment_id: int, voter_key: str, old: int, new: int, now: datetime
    ) -> None:
        """Record a vote change and apply its difference to the counters in SQL."""
        if old == new:
            return
        if old == 0:
            self.conn.execute(
                insert(votes).values(
                    comment_id=comment_id, voter_key=voter_key, value=new, created_at=now
                )
            )
        elif new == 0:
            self.conn.execute(
                votes.delete().where(
                    votes.c.comment_id == comment_id, votes.c.voter_key == voter_key
                )
            )
        else:
            self.conn.execute(
                update(votes)
                .where(votes.c.comment_id == comment_id, votes.c.voter_key == voter_key)
                .values(value=new)
            )
        up = (new == 1) - (old == 1)
        down = (new == -1) - (old == -1)
        self.conn.execute(
            update(comments)
            .where(comments.c.id == comment_id)
            .values(
                upvotes=comments.c.upvotes + up,
                downvotes=comments.c.downvotes + down,
                score=comments.c.score + (new - old),
            )
        )

    def add_flag(
        self, comment_id: int, voter_key: str, reason: str, note: str | None, now: datetime
    ) -> bool:
        """Record a reader's report; False if this reader already reported this comment."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(flags).values(
                        comment_id=comment_id, voter_key=voter_key, reason=reason, note=note,
                        resolved=False, created_at=now,
                    )
                )
        except IntegrityError:
            return False
        self.conn.execute(
            update(comments)
            .where(comments.c.id == comment_id)
            .values(flag_count=comments.c.flag_count + 1)
        )
        return True

    def flag_reasons(self, comment_ids: Sequence[int]) -> dict[int, list[str]]:
        if not comment_ids:
            return {}
        rows = self.conn.execute(
            select(flags.c.comment_id, flags.c.reason).where(
                flags.c.comment_id.in_(comment_ids), flags.c.resolved.is_(False)
            )
        )
        out: dict[int, list[str]] = {}
        for r in rows:
            out.setdefault(r.comment_id, []).append(r.reason)
        return out

    # -- tokens, bans, audit -----------------------------------------------------------------
    def add_token(
        self, site_id: int, role: Role, token_hash: str, label: str | None, now: datetime
    ) -> None:
        self.conn.execute(
            insert(tokens).values(
                site_id=site_id, role=role.value, token_hash=token_hash, label=label,
                created_at=now,
            )
        )

    def token(self, token_hash: str) -> ApiToken | None:
        row = self.conn.execute(
            select(tokens).where(tokens.c.token_hash == token_hash, tokens.c.revoked_at.is_(None))
        ).first()
        return ApiToken(id=row.id, site_id=row.site_id, role=Role(row.role)) if row else None

    def add_ban(self, site_id: int, ip_hash: str, reason: str | None, now: datetime,
                author_id: int | None = None) -> None:
        """Ban an address, and the account when the author was signed in; the first ban of an
        address is kept, though it now reaches the account too."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(bans).values(
                        site_id=site_id, ip_hash=ip_hash, author_id=author_id, reason=reason,
                        created_at=now,
                    )
                )
        except IntegrityError:  # banned already
            if author_id is not None:
                self.conn.execute(
                    update(bans)
                    .where(bans.c.site_id == site_id, bans.c.ip_hash == ip_hash,
                           bans.c.author_id.is_(None))
                    .values(author_id=author_id)
                )

    def ban_kind(self, site_id: int, ip_hash: str | None,
                 author_id: int | None = None) -> str | None:
        """None, "ban" (comments refused) or "shadow" (comments held without telling), for
        the address or, when given, the signed-in account."""
        if author_id is not None:
            row = self.conn.execute(
                _BAN_EITHER, {"p_site": site_id, "p_ip": ip_hash or "", "p_author": author_id}
            ).first()
        elif ip_hash:
            row = self.conn.execute(_BAN, {"p_site": site_id, "p_ip": ip_hash}).first()
        else:
            return None
        if row is None:
            return None
        # The moderator pages record the kind as the reason's prefix (services/moderator.py).
        return "shadow" if (row.reason or "").startswith("shadow") else "ban"

    def recent_by_author(
        self, site_id: int, ip_hash: str | None, author_id: int | None
    ) -> list[tuple[str, datetime]]:
        """The author's latest comments on the site (text, time), for flood and duplicate checks:
        at most RECENT_LIMIT."""
        q, who = (_RECENT["author"], author_id) if author_id else (_RECENT["ip"], ip_hash)
        return [(r.body_md, r.created_at)
                for r in self.conn.execute(q, {"p_site": site_id, "p_who": who})]

    def has_published(self, site_id: int, ip_hash: str | None, author_id: int | None) -> bool:
        """Whether this author (account, else address) has a published comment on the site."""
        q, who = ((_HAS_PUBLISHED["author"], author_id) if author_id
                  else (_HAS_PUBLISHED["ip"], ip_hash))
        return self.conn.execute(q, {"p_site": site_id, "p_who": who}).first() is not None

    def add_audit(
        self, site_id: int, comment_id: int | None, actor: str, action: str,
        detail: dict[str, Any], now: datetime,
    ) -> None:
        self.conn.execute(
            insert(audit).values(
                site_id=site_id, comment_id=comment_id, actor=actor, action=action,
                detail=detail, created_at=now,
            )
        )

    # -- export ------------------------------------------------------------------------------
    def export_rows(self, site_id: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every row belonging to a site, table by table, parents before children."""
        thread_ids = select(threads.c.id).where(threads.c.site_id == site_id)
        comment_ids = select(comments.c.id).where(comments.c.site_id == site_id)
        plan: Iterable[tuple[str, Any]] = (
            ("site", select(sites).where(sites.c.id == site_id)),
            ("user", select(users).where(users.c.site_id == site_id).order_by(users.c.id)),
            ("thread", select(threads).where(threads.c.site_id == site_id).order_by(threads.c.id)),
            ("comment", select(comments).where(comments.c.thread_id.in_(thread_ids))
             .order_by(comments.c.id)),
            ("subscription", select(subscriptions).where(subscriptions.c.site_id == site_id)
             .order_by(subscriptions.c.id)),
            ("vote", select(votes).where(votes.c.comment_id.in_(comment_ids)).order_by(votes.c.id)),
            ("flag", select(flags).where(flags.c.comment_id.in_(comment_ids)).order_by(flags.c.id)),
            ("ban", select(bans).where(bans.c.site_id == site_id).order_by(bans.c.id)),
            ("audit", select(audit).where(audit.c.site_id == site_id).order_by(audit.c.id)),
        )
        for kind, query in plan:
            for row in self.conn.execute(query.execution_options(yield_per=1000)):
                yield kind, dict(row._mapping)

