"""SQL for accounts and sessions, on the connection of a `SqlStore` transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from rejoinder.domain.accounts import AccountRole, User
from rejoinder.domain.errors import Conflict
from rejoinder.storage.tables import CommentRow, LoginLinkRow, SessionRow, UserRow, VoteRow

users = cast(Table, UserRow.__table__)
sessions = cast(Table, SessionRow.__table__)
comments = cast(Table, CommentRow.__table__)
votes = cast(Table, VoteRow.__table__)
login_links = cast(Table, LoginLinkRow.__table__)


def _user(row: Any) -> User:
    return User(id=row.id, site_id=row.site_id, email=row.email, display_name=row.display_name,
                role=AccountRole(row.role), sso_id=row.sso_id, created_at=row.created_at)


class AccountStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def create_user(self, site_id: int, *, email: str | None, display_name: str,
                    password_hash: str | None, sso_id: str | None, now: datetime) -> User:
        try:
            with self.conn.begin_nested():
                user_id = int(self.conn.execute(insert(users).values(
                    site_id=site_id, email=email, display_name=display_name,
                    role=AccountRole.READER.value, password_hash=password_hash, sso_id=sso_id,
                    created_at=now,
                ).returning(users.c.id)).scalar_one())
        except IntegrityError as exc:
            raise Conflict("an account with this email exists already",
                           code="account_exists") from exc
        user = self.user(user_id)
        assert user is not None
        return user

    def user(self, user_id: int) -> User | None:
        row = self.conn.execute(select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def user_by_email(self, site_id: int, email: str) -> tuple[User, str | None] | None:
        row = self.conn.execute(
            select(users).where(users.c.site_id == site_id, users.c.email == email)
        ).first()
        return (_user(row), row.password_hash) if row else None

    def user_by_sso(self, site_id: int, sso_id: str) -> User | None:
        row = self.conn.execute(
            select(users).where(users.c.site_id == site_id, users.c.sso_id == sso_id)
        ).first()
        return _user(row) if row else None

    def update_profile(self, user_id: int, *, display_name: str, email: str | None) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id)
                          .values(display_name=display_name, email=email))

    def add_session(self, user_id: int, token_hash: str, now: datetime,
                    expires: datetime) -> None:
        self.conn.execute(insert(sessions).values(user_id=user_id, token_hash=token_hash,
                                                  created_at=now, expires_at=expires))

    def session_user(self, token_hash: str, now: datetime) -> User | None:
        row = self.conn.execute(
            select(users).join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
        ).first()
        return _user(row) if row else None

    def end_session(self, token_hash: str) -> None:
        self.conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    # -- sign-in links (magic links) ---------------------------------------------------------
    def add_login_link(self, site_id: int, email: str, token_hash: str, now: datetime,
                       expires: datetime) -> None:
        self.conn.execute(insert(login_links).values(
            site_id=site_id, email=email, token_hash=token_hash, created_at=now,
            expires_at=expires, used_at=None))

    def login_link_sent_since(self, site_id: int, email: str, since: datetime) -> bool:
        """Whether a link went to this address on this site after `since` (per-address limit)."""
        row = self.conn.execute(
            select(login_links.c.id).where(login_links.c.site_id == site_id,
                                           login_links.c.email == email,
                                           login_links.c.created_at > since).limit(1)
        ).first()
        return row is not None

    def use_login_link(self, site_id: int, token_hash: str, now: datetime) -> str | None:
        """Consume a valid (unused, unexpired) link and return its email; None if there is none.

        The conditional UPDATE makes the use single even when two requests race."""
        row = self.conn.execute(
            select(login_links.c.id, login_links.c.email).where(
                login_links.c.site_id == site_id, login_links.c.token_hash == token_hash,
                login_links.c.used_at.is_(None), login_links.c.expires_at > now)
        ).first()
        if row is None:
            return None
        done = self.conn.execute(update(login_links).where(
            login_links.c.id == row.id, login_links.c.used_at.is_(None)).values(used_at=now))
        return str(row.email) if done.rowcount == 1 else None

    def user_comments(self, user_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(comments).where(comments.c.author_id == user_id)
                                 .order_by(comments.c.id))
        return [dict(r._mapping) for r in rows]

    def user_votes(self, voter_key: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(votes.c.comment_id, votes.c.value, votes.c.created_at)
                                 .where(votes.c.voter_key == voter_key))
        return [dict(r._mapping) for r in rows]

    def forget_user(self, user_id: int) -> None:
        """Wipe what identifies the author from their comments, then delete the account."""
        self.conn.execute(update(comments).where(comments.c.author_id == user_id).values(
            author_name=None, author_email=None, body_md="", body_html="", ip_hash=None,
            author_id=None, notify=None, quote=None,
        ))
        self.conn.execute(delete(users).where(users.c.id == user_id))
