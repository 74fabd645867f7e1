"""Sites (one publisher's website), their settings, threads (one article each) and roles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rejoinder.domain.moderation import ModerationPolicy


class Role(StrEnum):
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What a publisher can tune per site; stored as JSON, unknown keys kept for forward compat."""

    edit_window_s: int | None = None  # None: the server default
    guest_posting: bool = True
    moderation: Mapping[str, Any] = field(default_factory=dict)  # {"hold": {...}, "reject": {...}}
    blocklist: tuple[str, ...] = ()
    allowlist: tuple[str, ...] = ()
    support: Mapping[str, Any] | None = None  # {"text", "amounts": [...], "url"}
    # Notifications (issue 4): mail moderators when the queue holds this many or more comments
    # (at most hourly), and POST signed events to the publisher's webhook.
    moderator_email: str | None = None
    queue_alert_threshold: int = 10
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Hold the first comment of an author (by IP hash) not seen on this site before (issue 4).
    premoderate_first_time: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SiteSettings:
        data = data or {}
        window = data.get("edit_window_s")
        threshold = data.get("queue_alert_threshold")
        return cls(
            edit_window_s=int(window) if isinstance(window, int) and window >= 0 else None,
            guest_posting=bool(data.get("guest_posting", True)),
            moderation=dict(data.get("moderation") or {}),
            blocklist=tuple(str(w) for w in data.get("blocklist") or ()),
            allowlist=tuple(str(w) for w in data.get("allowlist") or ()),
            support=data.get("support") if isinstance(data.get("support"), Mapping) else None,
            premoderate_first_time=bool(data.get("premoderate_first_time", False)),
            moderator_email=_text(data.get("moderator_email")),
            queue_alert_threshold=max(1, threshold) if isinstance(threshold, int) else 10,
            webhook_url=_text(data.get("webhook_url")),
            webhook_secret=_text(data.get("webhook_secret")),
        )

    def policy(self) -> ModerationPolicy:
        return ModerationPolicy.from_settings(self.moderation)


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    slug: str
    name: str
    origins: tuple[str, ...]
    settings: SiteSettings
    raw_settings: Mapping[str, Any]

    def allows_origin(self, origin: str) -> bool:
        return origin.rstrip("/") in self.origins


@dataclass(frozen=True, slots=True)
class Thread:
    id: int
    site_id: int
    key: str
    title: str | None
    url: str | None
    locked: bool
    comment_count: int
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "url": self.url,
            "comment_count": self.comment_count,
            "locked": self.locked,
        }


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    site_id: int
    role: Role
