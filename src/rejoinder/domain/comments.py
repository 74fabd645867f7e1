"""Comments: states and their transitions, the reply rules, and building a thread's tree."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rejoinder.domain.errors import InvalidInput, InvalidTransition


class CommentStatus(StrEnum):
    PENDING = "pending"  # waiting in the moderator queue
    PUBLISHED = "published"
    REJECTED = "rejected"
    DELETED = "deleted"  # by its author or a moderator; kept as "[deleted]" if it has replies


# Explicit transitions: anything else is a bug or a race, and raises InvalidTransition.
_ALLOWED: dict[CommentStatus, frozenset[CommentStatus]] = {
    CommentStatus.PENDING: frozenset(
        {CommentStatus.PUBLISHED, CommentStatus.REJECTED, CommentStatus.DELETED}
    ),
    # An edit can send a published comment back to the queue.
    CommentStatus.PUBLISHED: frozenset(
        {CommentStatus.PENDING, CommentStatus.REJECTED, CommentStatus.DELETED}
    ),
    # A moderator may overturn a rejection (including an automatic one).
    CommentStatus.REJECTED: frozenset({CommentStatus.PUBLISHED, CommentStatus.DELETED}),
    CommentStatus.DELETED: frozenset(),
}


def transition(current: CommentStatus, target: CommentStatus) -> CommentStatus:
    """Return `target` if a comment may go from `current` to it, else raise InvalidTransition."""
    if target not in _ALLOWED[current]:
        raise InvalidTransition(f"a {current.value} comment cannot become {target.value}")
    return target


def revert(current: CommentStatus, previous: CommentStatus) -> CommentStatus:
    """Return `previous` if undoing the step `previous -> current` is allowed, else raise.

    An undo returns a comment to a state it was in, so it may take a step no decision could
    (rejected -> pending: back to the queue). It never resurrects a deleted comment, and it only
    reverses steps that `transition` allows, so it cannot invent a history.
    """
    if current is CommentStatus.DELETED or current not in _ALLOWED[previous]:
        raise InvalidTransition(f"cannot undo {previous.value} -> {current.value}")
    return previous


class SortOrder(StrEnum):
    OLDEST = "oldest"
    NEWEST = "newest"
    TOP = "top"  # "Most Voted"


@dataclass(slots=True)
class CommentNode:
    """A comment as readers see it, with its replies."""

    id: int
    parent_id: int | None
    author_name: str
    is_guest: bool
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    score: int
    upvotes: int
    downvotes: int
    deleted: bool = False
    quote: dict[str, str] | None = None
    replies: list[CommentNode] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "author": {"name": self.author_name, "is_guest": self.is_guest},
            "body_html": self.body_html,
            "created_at": _iso(self.created_at),
            "edited_at": _iso(self.edited_at) if self.edited_at else None,
            "score": self.score,
            "upvotes": self.upvotes,
            "downvotes": self.downvotes,
            "reply_count": len(self.replies),
            "deleted": self.deleted,
            "quote": self.quote,
            "replies": [r.to_json() for r in self.replies],
        }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def top_level_key(node: CommentNode, order: SortOrder) -> tuple[Any, ...]:
    """The ordering key of top-level comments; also what a cursor records."""
    if order is SortOrder.TOP:
        return (-node.score, node.id)
    if order is SortOrder.NEWEST:
        return (-node.id,)
    return (node.id,)  # ids grow with time, so id order is creation order and stable


def build_tree(
    top: Sequence[CommentNode], replies: Iterable[CommentNode]
) -> list[CommentNode]:
    """Attach replies (any depth, oldest first) under the given top-level comments.

    Replies whose parent is not visible (held, rejected, or on another page) are dropped, so a
    reader never sees an orphan. A deleted comment is kept only while it has visible replies.
    """
    by_id: dict[int, CommentNode] = {n.id: n for n in top}
    pending = sorted(replies, key=lambda n: n.id)
    # Parents always have smaller ids than their replies, so one pass in id order suffices.
    for node in pending:
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        if parent is None:
            continue
        parent.replies.append(node)
        by_id[node.id] = node
    return [n for n in top if _visible(n)]


def _visible(node: CommentNode) -> bool:
    node.replies = [r for r in node.replies if _visible(r)]
    return not node.deleted or bool(node.replies)


def encode_cursor(order: SortOrder, key: tuple[Any, ...]) -> str:
    raw = json.dumps([order.value, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The largest magnitude of each part of top_level_key's key, as the databases store it: ids are
# 64-bit, scores 32-bit (PostgreSQL compares a parameter in the column's own type).
_INT32_MAX, _INT64_MAX = 2**31 - 1, 2**63 - 1
_KEY_BOUNDS = {SortOrder.OLDEST: (_INT64_MAX,), SortOrder.NEWEST: (_INT64_MAX,),
               SortOrder.TOP: (_INT32_MAX, _INT64_MAX)}


def decode_cursor(order: SortOrder, cursor: str) -> tuple[int, ...]:
    """Parse a cursor made by `encode_cursor` for the same order, else raise InvalidInput."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        bounds = _KEY_BOUNDS[order]
        if sort != order.value or not isinstance(key, list) or len(key) != len(bounds):
            raise ValueError
        # A forged cursor with a number the column cannot hold must be refused here, not
        # overflow in the driver or the database (a 500).
        if not all(isinstance(k, int) and not isinstance(k, bool) and abs(k) <= bound
                   for k, bound in zip(key, bounds, strict=True)):
            raise ValueError
        return tuple(key)
    except (ValueError, binascii.Error, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not valid for this sort order", code="invalid_cursor") from exc


@dataclass(slots=True)
class Comment:
    """A stored comment with everything services and moderators need (readers see CommentNode)."""

    id: int
    site_id: int
    thread_id: int
    parent_id: int | None
    root_id: int | None
    status: CommentStatus
    body_md: str
    body_html: str
    author_name: str | None
    author_email: str | None
    is_guest: bool
    ip_hash: str | None
    edit_token_hash: str | None
    created_at: datetime
    edited_at: datetime | None
    author_id: int | None = None
    score: int = 0
    upvotes: int = 0
    downvotes: int = 0
    reply_count: int = 0
    flag_count: int = 0
    notify: str | None = None
    quote: dict[str, str] | None = None
    moderation: dict[str, Any] | None = None

    @property
    def display_name(self) -> str:
        return self.author_name or "Guest"

    def to_json(self) -> dict[str, Any]:
        """The comment as its author or a moderator sees it (includes status, not email/IP)."""
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "status": self.status.value,
            "author": {"name": self.display_name, "is_guest": self.is_guest},
            "body_html": self.body_html if self.status is not CommentStatus.DELETED else "",
            "created_at": _iso(self.created_at),
            "edited_at": _iso(self.edited_at) if self.edited_at else None,
            "score": self.score,
            "upvotes": self.upvotes,
            "downvotes": self.downvotes,
            "reply_count": self.reply_count,
            "quote": self.quote,
            "replies": [],
        }
