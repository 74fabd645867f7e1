"""The schema, as SQLAlchemy 2 typed models. Nothing outside `storage/` imports these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# One naming convention so constraint names match on SQLite and PostgreSQL (and Alembic batch
# migrations on SQLite can find them).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; BIGINT there would need explicit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON,
    }


class SiteRow(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    origins: Mapped[list[Any]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class ThreadRow(Base):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("site_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(512))
    title: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2048))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Denormalised count of published comments, kept in SQL (`+ 1`) by the writers.
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class CommentRow(Base):
    __tablename__ = "comments"
    __table_args__ = (
        # The read path: one thread's visible top-level page, and the replies under it.
        Index("ix_comments_thread_status_root", "thread_id", "status", "root_id"),
        Index("ix_comments_site_status", "site_id", "status", "id"),
        # Every post: the first-comment check (0008) and the latest comments by author (0009).
        Index("ix_comments_site_ip", "site_id", "ip_hash", "status"),
        Index("ix_comments_author", "author_id", "site_id", "status"),
        Index("ix_comments_site_ip_recent", "site_id", "ip_hash", "id"),
        Index("ix_comments_author_recent", "author_id", "site_id", "id"),
        # Importers: where a comment came from (`disqus:123`), so a re-run adds no duplicates.
        UniqueConstraint("site_id", "source_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    # The top-level ancestor (itself for a top-level comment): fetches a page's replies in one query.
    root_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(100))
    author_email: Mapped[str | None] = mapped_column(String(254))
    author_id: Mapped[int | None] = mapped_column(BigId)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=True)
    # HMAC of the client IP with the secret key; the raw IP is never stored.
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    edit_token_hash: Mapped[str | None] = mapped_column(String(64))
    notify: Mapped[str | None] = mapped_column(String(16))
    quote: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The verdict: backend, version, scores, action, reasons (for moderators and audits).
    moderation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    downvotes: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    # Client-supplied idempotency key: a retried POST returns the first comment, not a second.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    # Set by importers only (issue 5): the comment's id in the system it came from.
    source_key: Mapped[str | None] = mapped_column(String(200))


class VoteRow(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("comment_id", "voter_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    voter_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime]


class FlagRow(Base):
    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("comment_id", "voter_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    voter_key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class TokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class BanRow(Base):
    __tablename__ = "bans"
    __table_args__ = (
        UniqueConstraint("site_id", "ip_hash"),
        Index("ix_bans_site_author", "site_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    ip_hash: Mapped[str] = mapped_column(String(64))
    # The signed-in account of the banned comment's author, if any (migration 0010): matched as
    # well as the address, so a banned reader cannot come back from another one.
    author_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_site_created", "site_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class UserRow(Base):
    """A reader (or moderator/admin) account on one site: password, SSO, or both."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("site_id", "email"), UniqueConstraint("site_id", "sso_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The publisher's own user id, for single sign-on (a JWT signed with the site's secret).
    sso_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class SessionRow(Base):
    """A signed-in reader's session; the widget holds the token (third-party cookies are dead)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginLinkRow(Base):
    """An emailed sign-in link (magic link): single use, short-lived, the token stored hashed."""

    __tablename__ = "login_links"
    __table_args__ = (Index("ix_login_links_site_email", "site_id", "email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))  # lower case
    # SHA-256 of the random token in the link's fragment.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SubscriptionRow(Base):
    """A reader's request for mail about a thread or about replies to one comment (issue 4)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_thread_kind", "thread_id", "kind"),
        Index("ix_subscriptions_site_email", "site_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16))  # thread | replies
    # For `replies`: the comment whose replies are wanted.
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the random confirmation token; it also keys the signed unsubscribe links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    unsubscribed_at: Mapped[datetime | None]


class OutboxRow(Base):
    """Mail and webhooks written in the transaction that causes them, delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "sent_at", "failed_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | webhook
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # One row per logical message (`mail:<comment>:<address>`): enqueueing twice is a no-op.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # A worker's lease: other workers skip the row until then (a crashed worker's lease expires).
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class PerspectiveKeyRow(Base):
    """An API key of the Perspective-compatible service (issue 9): hashed, with its quotas."""

    __tablename__ = "perspective_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    qps: Mapped[int] = mapped_column(Integer)  # requests per second; past it 429
    daily_quota: Mapped[int] = mapped_column(Integer)  # requests per UTC day; 0 = unlimited
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class PerspectiveFeedbackRow(Base):
    """A moderator's verdict sent back by a client (`comments:suggestscore`), for retraining."""

    __tablename__ = "perspective_feedback"
    __table_args__ = (UniqueConstraint("key_id", "client_token"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("perspective_keys.id", ondelete="CASCADE"))
    # Coral sends `comment:<id>`; feedback without a token gets a generated one.
    client_token: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    toxic: Mapped[int | None] = mapped_column(SmallInteger)  # 1 rejected, 0 approved
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)  # as sent: name -> value
    languages: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CacheEpochRow(Base):
    """One row: a counter that commands outside the server (import, `site set`, restore) move,
    so that running servers without Redis drop their cached pages (see storage/epoch.py)."""

    __tablename__ = "cache_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
