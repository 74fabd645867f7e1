"""SQL for notifications: subscriptions, and the outbox that delivery works through.

`NotificationRepo` runs inside the caller's transaction (the comment's own, so a rolled-back
comment leaves no mail behind). The functions below it are the delivery side: claiming due rows
with a lease, and recording each try.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from rejoinder.domain.notifications import (
    OutboxItem,
    OutboxKind,
    Subscription,
    SubscriptionKind,
)
from rejoinder.storage.tables import CommentRow, OutboxRow, SiteRow, SubscriptionRow

subscriptions = cast(Table, SubscriptionRow.__table__)
outbox = cast(Table, OutboxRow.__table__)
comments = cast(Table, CommentRow.__table__)
sites = cast(Table, SiteRow.__table__)

# Run for every published comment: built once (see repositories.py on prebuilt statements).
_THREAD_FOLLOWERS = subscriptions.c.kind == SubscriptionKind.THREAD.value
_ACTIVE = (subscriptions.c.confirmed_at.is_not(None), subscriptions.c.unsubscribed_at.is_(None))
_AUDIENCE_TOP = (select(subscriptions)
                 .where(subscriptions.c.thread_id == bindparam("p_thread"), _THREAD_FOLLOWERS,
                        *_ACTIVE)
                 .order_by(subscriptions.c.id))
_AUDIENCE_REPLY = (select(subscriptions)
                   .where(subscriptions.c.thread_id == bindparam("p_thread"),
                          or_(_THREAD_FOLLOWERS,
                              and_(subscriptions.c.kind == SubscriptionKind.REPLIES.value,
                                   subscriptions.c.comment_id == bindparam("p_parent"))),
                          *_ACTIVE)
                   .order_by(subscriptions.c.id))


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        id=row.id, site_id=row.site_id, thread_id=row.thread_id, email=row.email,
        kind=SubscriptionKind(row.kind), comment_id=row.comment_id, token_hash=row.token_hash,
        confirmed_at=row.confirmed_at, created_at=row.created_at,
        unsubscribed_at=row.unsubscribed_at,
    )


def _same_address(email: str) -> Any:
    # Addresses compare case-insensitively (the domain part is, and people type it both ways).
    return func.lower(subscriptions.c.email) == email.lower()


class NotificationRepo:
    """Subscriptions and outbox writes on one connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- subscriptions ----------------------------------------------------------------------
    def add_subscription(
        self, *, site_id: int, thread_id: int, email: str, kind: SubscriptionKind,
        comment_id: int | None, token_hash: str, confirmed_at: datetime | None, now: datetime,
    ) -> Subscription:
        sub_id = self.conn.execute(
            insert(subscriptions).values(
                site_id=site_id, thread_id=thread_id, email=email, kind=kind.value,
                comment_id=comment_id, token_hash=token_hash, confirmed_at=confirmed_at,
                created_at=now, unsubscribed_at=None,
            ).returning(subscriptions.c.id)
        ).scalar_one()
        found = self.subscription(int(sub_id))
        assert found is not None
        return found

    def subscription(self, sub_id: int) -> Subscription | None:
        row = self.conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).first()
        return _subscription(row) if row else None

    def subscription_by_token_hash(self, token_hash: str) -> Subscription | None:
        row = self.conn.execute(
            select(subscriptions).where(subscriptions.c.token_hash == token_hash)
        ).first()
        return _subscription(row) if row else None

    def has_thread_subscription(self, thread_id: int, email: str) -> bool:
        """An address already following the whole thread (confirmed or not, not unsubscribed)."""
        q = select(func.count()).select_from(subscriptions).where(
            subscriptions.c.thread_id == thread_id,
            subscriptions.c.kind == SubscriptionKind.THREAD.value,
            subscriptions.c.unsubscribed_at.is_(None), _same_address(email),
        )
        return bool(self.conn.execute(q).scalar_one())

    def address_confirmed(self, site_id: int, email: str) -> bool:
        """Whether this address ever confirmed a subscription on this site (proved it is theirs)."""
        q = select(func.count()).select_from(subscriptions).where(
            subscriptions.c.site_id == site_id, subscriptions.c.confirmed_at.is_not(None),
            _same_address(email),
        )
        return bool(self.conn.execute(q).scalar_one())

    def confirm_address(self, site_id: int, email: str, now: datetime) -> int:
        """Confirm every waiting subscription of this address on this site; returns how many."""
        result = self.conn.execute(
            update(subscriptions)
            .where(subscriptions.c.site_id == site_id, subscriptions.c.confirmed_at.is_(None),
                   _same_address(email))
            .values(confirmed_at=now)
        )
        return int(result.rowcount)

    def unsubscribe(self, sub_ids: Sequence[int], now: datetime) -> int:
        result = self.conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id.in_(sub_ids), subscriptions.c.unsubscribed_at.is_(None))
            .values(unsubscribed_at=now)
        )
        return int(result.rowcount)

    def subscriptions_of(self, site_id: int, email: str) -> list[Subscription]:
        rows = self.conn.execute(
            select(subscriptions)
            .where(subscriptions.c.site_id == site_id, _same_address(email))
            .order_by(subscriptions.c.id)
        )
        return [_subscription(r) for r in rows]

    def audience(self, thread_id: int, parent_id: int | None) -> list[Subscription]:
        """Active subscriptions that hear of a new comment: the thread's, and the parent's replies."""
        if parent_id is None:
            rows = self.conn.execute(_AUDIENCE_TOP, {"p_thread": thread_id})
        else:
            rows = self.conn.execute(_AUDIENCE_REPLY, {"p_thread": thread_id, "p_parent": parent_id})
        return [_subscription(r) for r in rows]

    # -- the queue, for moderator alerts ----------------------------------------------------
    def queue_size(self, site_id: int) -> int:
        q = select(func.count()).select_from(comments).where(
            comments.c.site_id == site_id, comments.c.status == "pending"
        )
        return int(self.conn.execute(q).scalar_one())

    # -- outbox -----------------------------------------------------------------------------
    def enqueue(
        self, kind: OutboxKind, payload: dict[str, Any], dedupe_key: str, now: datetime
    ) -> bool:
        """Add a message unless one with this dedupe key exists; True if added."""
        try:
            # A savepoint, so a duplicate key does not abort the caller's (the comment's) transaction.
            with self.conn.begin_nested():
                self.conn.execute(insert(outbox).values(
                    kind=kind.value, payload=payload, dedupe_key=dedupe_key, created_at=now,
                    attempts=0, next_attempt_at=now, claimed_until=None, sent_at=None,
                    failed_at=None, last_error=None,
                ))
        except IntegrityError:
            return False
        return True


# -- delivery side ---------------------------------------------------------------------------
def _due(now: datetime) -> Any:
    return and_(
        outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None),
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    )


def has_due(conn: Connection, now: datetime) -> bool:
    """A cheap read, so that an idle worker never takes the (SQLite: single) write lock."""
    return conn.execute(select(outbox.c.id).where(_due(now)).limit(1)).first() is not None


def claim_due(
    conn: Connection, now: datetime, lease: timedelta, limit: int
) -> list[OutboxItem]:
    """Lease up to `limit` due messages to this worker, oldest first. Call in a write transaction.

    The one dialect branch of the outbox: on PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several
    workers claim at once without waiting on, or taking, each other's rows. On SQLite the writer
    transaction is BEGIN IMMEDIATE, which already admits one writer at a time across processes,
    so the plain SELECT then UPDATE cannot race.
    """
    q = select(outbox).where(_due(now)).order_by(outbox.c.next_attempt_at, outbox.c.id)
    q = q.limit(limit)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = conn.execute(q).all()
    if not rows:
        return []
    conn.execute(
        update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
        .values(claimed_until=now + lease)
    )
    return [
        OutboxItem(id=r.id, kind=OutboxKind(r.kind), payload=dict(r.payload),
                   dedupe_key=r.dedupe_key, created_at=r.created_at, attempts=r.attempts)
        for r in rows
    ]


def mark_sent(conn: Connection, item_id: int, now: datetime) -> None:
    conn.execute(
        update(outbox).where(outbox.c.id == item_id, outbox.c.sent_at.is_(None))
        .values(sent_at=now, claimed_until=None, attempts=outbox.c.attempts + 1)
    )


def mark_retry(
    conn: Connection, item_id: int, error: str, next_attempt_at: datetime | None, now: datetime
) -> None:
    """Record a failed try: retry at `next_attempt_at`, or give up (failed) when it is None."""
    values: dict[str, Any] = {
        "attempts": outbox.c.attempts + 1, "claimed_until": None, "last_error": error[:500],
    }
    if next_attempt_at is None:
        values["failed_at"] = now
    else:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(update(outbox).where(outbox.c.id == item_id, outbox.c.sent_at.is_(None))
                 .values(**values))


def prune(conn: Connection, before: datetime) -> int:
    """Delete messages sent or given up before `before`; pending ones are never touched."""
    done = or_(outbox.c.sent_at < before, outbox.c.failed_at < before)
    return int(conn.execute(delete(outbox).where(done)).rowcount or 0)


def outbox_status(conn: Connection, now: datetime) -> dict[str, Any]:
    """Counts for `rejoinder outbox status`: pending, due, sent, failed, the oldest pending."""
    pending = and_(outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None))
    count = func.count()
    return {
        "pending": conn.execute(select(count).select_from(outbox).where(pending)).scalar_one(),
        "due": conn.execute(select(count).select_from(outbox).where(_due(now))).scalar_one(),
        "sent": conn.execute(
            select(count).select_from(outbox).where(outbox.c.sent_at.is_not(None))
        ).scalar_one(),
        "failed": conn.execute(
            select(count).select_from(outbox).where(outbox.c.failed_at.is_not(None))
        ).scalar_one(),
        "oldest_pending": conn.execute(
            select(func.min(outbox.c.created_at)).where(pending)
        ).scalar_one(),
    }


def site_settings(conn: Connection, site_id: int) -> dict[str, Any] | None:
    """A site's raw settings, read at send time (so a rotated webhook secret applies at once)."""
    row = conn.execute(select(sites.c.settings).where(sites.c.id == site_id)).first()
    return dict(row.settings or {}) if row else None
