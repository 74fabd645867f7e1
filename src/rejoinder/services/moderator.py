"""Moderators' use cases for the server-rendered pages (issue 4): sign-in, the queue with its
context, decisions (single and bulk), undo, thread closing and the decisions export.

Site settings live in `moderator_settings.py` and the dashboard in `moderator_stats.py`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rejoinder.domain.comments import Comment, CommentStatus, revert, transition
from rejoinder.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unauthorized,
)
from rejoinder.domain.moderation import Label
from rejoinder.domain.sites import ApiToken, Role, Site, Thread
from rejoinder.services.context import Services, token_hash
from rejoinder.services.moderation import require_moderator

log = logging.getLogger("rejoinder.moderator")

# Audit actions of moderators' decisions; "undo" entries point back at them by batch.
APPROVE, REJECT, BAN, SHADOW_BAN, UNDO = "approve", "reject", "ban_author", "shadow_ban", "undo"
DECISIONS = (APPROVE, REJECT, BAN, SHADOW_BAN)
TARGET = {APPROVE: CommentStatus.PUBLISHED, REJECT: CommentStatus.REJECTED,
          BAN: CommentStatus.REJECTED, SHADOW_BAN: CommentStatus.REJECTED}
# The kind of ban, kept in the ban's reason: "ban" refuses the author's future comments,
# "shadow" holds them silently (the posting path must read it; see docs/moderators.md).
BAN_KIND = {BAN: "ban", SHADOW_BAN: "shadow"}
MAX_BULK = 200


class ModeratorStore(Protocol):
    """What these use cases need from storage (`storage.moderator_queries.ModeratorStore`)."""

    def site_by_slug(self, slug: str) -> Site | None: ...
    def site_by_id(self, site_id: int) -> Site | None: ...
    def token(self, token_hash: str) -> ApiToken | None: ...
    def token_by_id(self, token_id: int) -> ApiToken | None: ...
    def comment(self, comment_id: int) -> Comment | None: ...
    def thread(self, site_id: int, key: str) -> Thread | None: ...
    def thread_by_id(self, thread_id: int) -> Thread | None: ...
    def set_thread_locked(self, thread_id: int, locked: bool) -> None: ...
    def set_status(self, comment: Comment, status: CommentStatus) -> None: ...
    def clear_flags(self, comment_id: int) -> None: ...
    def add_audit(self, site_id: int, comment_id: int | None, actor: str, action: str,
                  detail: dict[str, Any], now: datetime) -> None: ...
    def update_site(self, site_id: int, *, origins: Sequence[str] | None = None,
                    settings: dict[str, Any] | None = None) -> None: ...
    def queue_items(self, site_id: int, limit: int) -> list[tuple[Comment, Thread]]: ...
    def parents(self, ids: Sequence[int]) -> dict[int, Any]: ...
    def author_history(self, site_id: int, ip_hashes: Sequence[str]
                       ) -> dict[str, dict[str, int]]: ...
    def banned(self, site_id: int, ip_hashes: Sequence[str], author_ids: Sequence[int] = ()
               ) -> tuple[dict[str, str], dict[int, str]]: ...
    def open_flags(self, comment_ids: Sequence[int]) -> dict[int, list[Any]]: ...
    def reopen_flags(self, comment_id: int, flag_ids: Sequence[int]) -> None: ...
    def add_ban_returning(self, site_id: int, ip_hash: str, reason: str, now: datetime,
                          author_id: int | None = None) -> bool: ...
    def remove_ban(self, site_id: int, ip_hash: str) -> None: ...
    def recent_audit(self, site_id: int, actor: str, limit: int = 500) -> list[Any]: ...
    def decisions(self, site_id: int, since: datetime | None = None) -> list[Any]: ...
    def comment_stats(self, site_id: int, since: datetime) -> list[Any]: ...


class ModeratorUnitOfWork(Protocol):
    def read(self) -> AbstractContextManager[ModeratorStore]: ...
    def write(self) -> AbstractContextManager[ModeratorStore]: ...


@dataclass(frozen=True)
class Moderator:
    """A signed-in moderator or admin of one site (from a still-valid API token)."""

    token_id: int
    site: Site
    role: Role

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def sign_in(uow: ModeratorUnitOfWork, raw_token: str) -> Moderator:
    """The moderator behind an API token, or Unauthorized (unknown, revoked or malformed)."""
    raw = raw_token.strip()
    if not raw.startswith("rj_") or len(raw) > 200:
        raise Unauthorized("this is not a moderator token", code="bad_token")
    with uow.read() as store:
        token = store.token(token_hash(raw))
        site = store.site_by_id(token.site_id) if token else None
    if token is None or site is None:
        raise Unauthorized("unknown or revoked token", code="bad_token")
    return Moderator(token.id, site, token.role)


def resume(uow: ModeratorUnitOfWork, token_id: int, site_id: int, role: str) -> Moderator | None:
    """The moderator of a session, re-checked against the token (revoked tokens end sessions)."""
    with uow.read() as store:
        token = store.token_by_id(token_id)
        if token is None or token.site_id != site_id or token.role.value != role:
            return None
        site = store.site_by_id(site_id)
    return Moderator(token.id, site, token.role) if site else None


def authorize(mod: Moderator | None, site_slug: str, *, admin: bool = False) -> Moderator:
    """The single check for the moderator pages: a session for this site, admin where asked."""
    if mod is None:
        raise Unauthorized("sign in first", code="not_signed_in")
    if mod.site.slug != site_slug:
        raise Forbidden("you moderate another site", code="not_moderator")
    require_moderator(ApiToken(mod.token_id, mod.site.id, mod.role), mod.site)
    if admin and not mod.is_admin:
        raise Forbidden("this needs the admin role", code="not_admin")
    return mod


# -- the queue -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a comment's raw text; `label` set when it is evidence to highlight."""

    text: str
    label: str | None = None


def highlight(text: str, evidence: Sequence[dict[str, Any]]) -> list[Segment]:
    """Split `text` at the evidence spans (offsets checked against the text, overlaps merged).

    Returns plain strings: the template escapes every piece, so the text is never trusted.
    """
    spans: list[tuple[int, int, str]] = []
    lowered = text.casefold()
    for ev in evidence:
        start, end, word = ev.get("start"), ev.get("end"), str(ev.get("text") or "")
        label = str(ev.get("label") or "")
        ok = (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
              and text[start:end].casefold() == word.casefold())
        if not ok and word:
            at = lowered.find(word.casefold())  # offsets of a normalised text: find the words
            start, end, ok = at, at + len(word), at >= 0
        if ok:
            assert isinstance(start, int) and isinstance(end, int)
            spans.append((start, end, label))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for lo, hi, label in spans:
        if merged and lo < merged[-1][1]:
            plo, phi, plabel = merged[-1]
            merged[-1] = (plo, max(phi, hi), plabel)
        else:
            merged.append((lo, hi, label))
    out: list[Segment] = []
    pos = 0
    for lo, hi, label in merged:
        if lo > pos:
            out.append(Segment(text[pos:lo]))
        out.append(Segment(text[lo:hi], label or "evidence"))
        pos = hi
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


@dataclass
class QueueItem:
    comment: Comment
    thread: Thread
    segments: list[Segment]
    scores: list[tuple[str, float, float]]  # label, score, the site's hold threshold
    max_score: float
    reasons: list[str]
    backend: str | None
    flags: list[Any] = field(default_factory=list)
    parent: Any = None
    history: dict[str, int] = field(default_factory=dict)
    ban: str | None = None  # "ban" or "shadow" when the author is banned
    email: str | None = None  # admins only


def queue(
    uow: ModeratorUnitOfWork, mod: Moderator, *, sort: str = "newest", limit: int = 100
) -> list[QueueItem]:
    """Pending and flagged comments with scores, evidence, thread, parent and author history."""
    site = mod.site
    policy = site.settings.policy()
    with uow.read() as store:
        # Severity sorting is done here, over the newest 1000, to stay portable (JSON scores).
        rows = store.queue_items(site.id, 1000 if sort == "severe" else limit)
        ids = [c.id for c, _ in rows]
        parents = store.parents([c.parent_id for c, _ in rows if c.parent_id])
        hashes = sorted({c.ip_hash for c, _ in rows if c.ip_hash})
        history = store.author_history(site.id, hashes)
        banned, banned_accounts = store.banned(
            site.id, hashes, sorted({c.author_id for c, _ in rows if c.author_id}))
        flags = store.open_flags(ids)
    items = []
    for c, thread in rows:
        verdict = c.moderation or {}
        raw_scores = verdict.get("scores") or {}
        scores = [(label.value, float(raw_scores.get(label.value, 0.0)), policy.hold[label])
                  for label in Label]
        items.append(QueueItem(
            comment=c, thread=thread,
            segments=highlight(c.body_md, verdict.get("evidence") or []),
            scores=scores, max_score=max((s for _, s, _ in scores), default=0.0),
            reasons=[str(r) for r in verdict.get("reasons") or []],
            backend=verdict.get("backend"), flags=flags.get(c.id, []),
            parent=parents.get(c.parent_id) if c.parent_id else None,
            history=history.get(c.ip_hash, {}) if c.ip_hash else {},
            ban=_ban_of(c, banned, banned_accounts),
            email=c.author_email if mod.is_admin else None,
        ))
    if sort == "severe":
        items.sort(key=lambda i: (-i.max_score, -len(i.flags), -i.comment.id))
    return items[:limit]


def _ban_kind(reason: str) -> str:
    return "shadow" if reason.startswith("shadow") else "ban"


def _ban_of(c: Comment, by_ip: dict[str, str], by_account: dict[int, str]) -> str | None:
    if c.ip_hash and c.ip_hash in by_ip:
        return _ban_kind(by_ip[c.ip_hash])
    if c.author_id and c.author_id in by_account:
        return _ban_kind(by_account[c.author_id])
    return None


# -- decisions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    changed: list[int]
    skipped: list[int]  # deleted comments, or already undone


def decide(
    services: Services, uow: ModeratorUnitOfWork, mod: Moderator, ids: Sequence[int], action: str
) -> Outcome:
    """Apply one decision to one or several comments of the moderator's site, in one transaction.

    Every comment gets an audit entry (actor, from/to status, labels) sharing one batch id, so
    that `undo` restores the whole batch. A comment of another site refuses the whole request.
    """
    if action not in DECISIONS:
        raise InvalidInput(f"action must be one of {', '.join(DECISIONS)}", code="invalid_action")
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise InvalidInput("select at least one comment", code="empty_selection")
    if len(unique) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} comments at once", code="too_many")
    batch, now, site = uuid.uuid4().hex, services.now(), mod.site
    changed: list[int] = []
    skipped: list[int] = []
    touched: dict[str, tuple[str, Comment]] = {}
    with uow.write() as store:
        found = [(i, store.comment(i)) for i in unique]
        if any(c is None or c.site_id != site.id for _, c in found):
            raise NotFound("no such comment on this site", code="comment_not_found")
        for _, c in found:
            assert c is not None
            if _apply(store, site, mod, c, action, batch, now):
                changed.append(c.id)
                thread = store.thread_by_id(c.thread_id)
                assert thread is not None
                touched[thread.key] = (thread.key, c)
            else:
                skipped.append(c.id)
    log.info("moderation site=%s action=%s comments=%s batch=%s", site.slug, action, changed, batch)
    for key in touched:
        _announce(services, site.slug, key)
    return Outcome(changed, skipped)


def _apply(store: ModeratorStore, site: Site, mod: Moderator, c: Comment, action: str,
           batch: str, now: datetime) -> bool:
    target = TARGET[action]
    try:
        if c.status is not target:
            transition(c.status, target)
    except InvalidTransition:
        return False  # deleted by its author meanwhile: nothing to decide
    flag_ids = [f.id for f in store.open_flags([c.id]).get(c.id, [])]
    if c.status is not target:
        store.set_status(c, target)
    store.clear_flags(c.id)
    ban_added = False
    if action in BAN_KIND and c.ip_hash:
        ban_added = store.add_ban_returning(site.id, c.ip_hash,
                                            f"{BAN_KIND[action]}: comment {c.id}", now,
                                            author_id=c.author_id)
    store.add_audit(site.id, c.id, mod.actor, action, {
        "from": c.status.value, "to": target.value, "labels": _labels(site, c),
        "batch": batch, "flag_ids": flag_ids, "ban_added": ban_added,
    }, now)
    return True


def _labels(site: Site, c: Comment) -> list[str]:
    """The labels that drove the verdict: those at or above the site's hold threshold."""
    scores = (c.moderation or {}).get("scores") or {}
    hold = site.settings.policy().hold
    return [label.value for label in Label
            if float(scores.get(label.value, 0.0)) >= hold[label]]


def _announce(services: Services, site: str, thread: str) -> None:
    # Drops cached pages here and, through the event bus (Redis), in the other processes.
    services.cache.invalidate(site, thread)
    services.events.publish(site, thread, "comment.moderated", {})


def undo(services: Services, uow: ModeratorUnitOfWork, mod: Moderator) -> Outcome:
    """Undo this moderator's last decision (a whole bulk batch), restoring the previous status.

    A comment whose status changed since (another moderator, an edit) is left alone. The undo is
    written to the audit log too, naming the batch, so it is not undone twice.
    """
    site, now = mod.site, services.now()
    changed: list[int] = []
    skipped: list[int] = []
    threads: set[str] = set()
    with uow.write() as store:
        entries = store.recent_audit(site.id, mod.actor)
        undone = {e.detail.get("batch") for e in entries if e.action == UNDO}
        last = next((e for e in entries if e.action in DECISIONS
                     and e.detail.get("batch") not in undone), None)
        if last is None:
            raise Conflict("nothing to undo", code="nothing_to_undo")
        batch = last.detail.get("batch")
        for entry in [e for e in entries if e.action in DECISIONS
                      and e.detail.get("batch") == batch]:
            c = store.comment(entry.comment_id) if entry.comment_id else None
            if c is None or c.status.value != entry.detail.get("to"):
                skipped.append(entry.comment_id or 0)
                continue
            previous = CommentStatus(entry.detail["from"])
            if previous is not c.status:
                try:
                    store.set_status(c, revert(c.status, previous))
                except InvalidTransition:
                    skipped.append(c.id)
                    continue
            store.reopen_flags(c.id, entry.detail.get("flag_ids") or [])
            if entry.detail.get("ban_added") and c.ip_hash:
                store.remove_ban(site.id, c.ip_hash)
            store.add_audit(site.id, c.id, mod.actor, UNDO, {
                "from": c.status.value, "to": previous.value, "batch": batch,
                "undoes": entry.id, "undone_action": entry.action,
            }, now)
            changed.append(c.id)
            thread = store.thread_by_id(c.thread_id)
            if thread:
                threads.add(thread.key)
    for key in threads:
        _announce(services, site.slug, key)
    return Outcome(changed, skipped)


def set_thread_closed(
    services: Services, uow: ModeratorUnitOfWork, mod: Moderator, key: str, closed: bool
) -> Thread:
    """Close a thread to new comments, or reopen it (admins)."""
    site = mod.site
    with uow.write() as store:
        thread = store.thread(site.id, key)
        if thread is None:
            raise NotFound("no thread with this key on this site", code="thread_not_found")
        store.set_thread_locked(thread.id, closed)
        store.add_audit(site.id, None, mod.actor, "close_thread" if closed else "reopen_thread",
                        {"thread": key}, services.now())
        updated = store.thread_by_id(thread.id)
        assert updated is not None
    _announce(services, site.slug, key)
    return updated


def final_decisions(rows: Sequence[Any]) -> dict[int, Any]:
    """The last decision per comment from audit rows (oldest first), undone ones dropped."""
    stacks: dict[int, list[Any]] = {}
    for row in rows:
        stack = stacks.setdefault(row.audit.comment_id, [])
        if row.audit.action != UNDO:
            stack.append(row)
        elif stack and stack[-1].audit.id == row.audit.detail.get("undoes"):
            stack.pop()  # the decision before the undone one stands again
    return {cid: stack[-1] for cid, stack in stacks.items() if stack}


def decisions_export(uow: ModeratorUnitOfWork, mod: Moderator) -> Iterator[dict[str, Any]]:
    """The final moderator decision per comment (undone ones dropped), for retraining models."""
    with uow.read() as store:
        rows = store.decisions(mod.site.id)
    final = final_decisions(rows)
    for cid in sorted(final):
        row = final[cid]
        verdict = row.moderation or {}
        yield {
            "comment_id": cid,
            "text": row.body_md,
            "scores": verdict.get("scores"),
            "model_decision": verdict.get("action"),
            "backend": verdict.get("backend"),
            "version": verdict.get("version"),
            "moderator_action": row.audit.action,
            "status": row.audit.detail.get("to"),
            "labels": row.audit.detail.get("labels", []),
            "decided_at": row.audit.created_at.isoformat().replace("+00:00", "Z"),
        }
