"""Subscriptions (who hears of what) and the outbox's retry rule: pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class SubscriptionKind(StrEnum):
    THREAD = "thread"  # every new published comment in the thread
    REPLIES = "replies"  # published replies to one comment


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    site_id: int
    thread_id: int
    email: str
    kind: SubscriptionKind
    comment_id: int | None
    token_hash: str
    confirmed_at: datetime | None
    created_at: datetime
    unsubscribed_at: datetime | None

    @property
    def active(self) -> bool:
        """Double opt-in: nothing but the confirmation mail goes to an unconfirmed address."""
        return self.confirmed_at is not None and self.unsubscribed_at is None


class OutboxKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: OutboxKind
    payload: dict[str, Any]
    dedupe_key: str
    created_at: datetime
    attempts: int


# Retries: 30 s, 1 min, 2 min … capped at an hour; after two days a message is marked failed.
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=2)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` failed tries (1 → 30 s), capped at MAX_RETRY."""
    if attempts < 1:
        return timedelta(0)
    return min(MAX_RETRY, FIRST_RETRY * (1 << min(attempts - 1, 20)))


def gives_up(created_at: datetime, now: datetime) -> bool:
    """A message still unsent GIVE_UP_AFTER its creation is marked failed, not retried."""
    return now - created_at >= GIVE_UP_AFTER
