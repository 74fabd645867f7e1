"""Notifications enqueued inside the transaction that causes them (the outbox pattern).

The functions here only write outbox rows through the store; delivery (SMTP, webhooks) happens
after commit, in `rejoinder.notifications`. A rolled-back comment therefore never sends mail, and a
committed one always will.
"""

from __future__ import annotations

from rejoinder.domain.comments import Comment
from rejoinder.domain.sites import Site, Thread
from rejoinder.services.context import Services
from rejoinder.services.ports import Store


def on_comment_posted(
    services: Services, store: Store, site: Site, thread: Thread, comment: Comment
) -> None:
    """Called in the posting transaction, whatever the comment's status."""


def on_comment_published(
    services: Services, store: Store, site: Site, thread: Thread, comment: Comment
) -> None:
    """Called in the transaction that makes a comment visible (at posting, or on approval)."""


def on_moderation(
    services: Services, store: Store, site: Site, thread: Thread, comment: Comment, action: str
) -> None:
    """Called in the transaction of a moderator's action (approve, reject, ban_author)."""
