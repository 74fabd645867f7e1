"""Scoring a comment and deciding on it (at posting and editing), and moderators' actions."""

from __future__ import annotations

import logging
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

from rejoinder.domain.comments import Comment, CommentStatus, transition
from rejoinder.domain.errors import Forbidden, InvalidInput, NotFound
from rejoinder.domain.moderation import (
    Action,
    Decision,
    Scores,
    fail_closed,
)
from rejoinder.domain.sites import ApiToken, Site
from rejoinder.moderation.rules import CommentContext, SiteRules, apply_site_rules
from rejoinder.services import notify
from rejoinder.services.context import Services
from rejoinder.services.ports import Store

log = logging.getLogger("rejoinder.moderation")

DECISIONS = Counter("rejoinder_moderation_decisions_total", "Moderation decisions", ["action"])
SCORING_SECONDS = Histogram(
    "rejoinder_moderation_scoring_seconds",
    "Time to score one comment",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 2.5),
)
SCORING_FAILURES = Counter("rejoinder_moderation_failures_total", "Scoring errors and timeouts")


@dataclass(frozen=True)
class Verdict:
    """Scores plus the decision, as recorded on the comment for moderators and audits."""

    decision: Decision
    record: dict[str, Any]


def author_context(
    services: Services, store: Store, site: Site, ip_hash: str, author_id: int | None
) -> CommentContext:
    """What the site rules need to know about the author: newcomer? recent comments?"""
    recent = store.recent_by_author(site.id, ip_hash, author_id)
    return CommentContext(
        is_new_author=not store.has_published(site.id, ip_hash, author_id),
        recent_texts=tuple(text for text, _ in recent[:10]),
        recent_timestamps=tuple(at.timestamp() for _, at in recent),
        now=services.now().timestamp(),
    )


def site_rules(site: Site) -> SiteRules:
    raw = dict(site.raw_settings)
    raw["block"] = list(site.settings.blocklist)
    raw["allow"] = list(site.settings.allowlist)
    return SiteRules.from_settings(raw)


def judge(
    services: Services, site: Site, text: str, context: CommentContext | None = None
) -> Verdict:
    """Score `text` within the time budget, fold in the site's rules (block list, links from
    newcomers, duplicates, floods) and apply its policy; fails closed to HOLD."""
    classifier = services.classifier
    started = time.perf_counter()
    scores: Scores | None = None
    try:
        future = services.scoring_pool.submit(classifier.score, [text])
        scores = future.result(timeout=services.settings.moderation_timeout_s)[0]
    except FutureTimeout:
        decision = fail_closed("timed out")
    except Exception as exc:  # Fail closed: unscored comments wait in the queue (ADR 0004)
        log.warning("moderation backend %s failed: %s", classifier.name, type(exc).__name__)
        decision = fail_closed(type(exc).__name__)
    else:
        scores = apply_site_rules(scores, text, site_rules(site), context)
        decision = site.settings.policy().decide(scores)
    elapsed = time.perf_counter() - started
    SCORING_SECONDS.observe(elapsed)
    if scores is None:
        SCORING_FAILURES.inc()
    DECISIONS.labels(decision.action.value).inc()
    record = {
        "backend": classifier.name,
        "version": classifier.version,
        "scores": scores.as_dict() if scores else None,
        "evidence": [
            {"label": e.label.value, "text": e.text, "start": e.start, "end": e.end,
             "source": e.source}
            for e in (scores.evidence if scores else ())
        ][:20],
        "action": decision.action.value,
        "reasons": list(decision.reasons),
        "ms": round(elapsed * 1000, 2),
    }
    return Verdict(decision, record)


def status_for(decision: Decision) -> CommentStatus:
    return {
        Action.PUBLISH: CommentStatus.PUBLISHED,
        Action.HOLD: CommentStatus.PENDING,
        Action.REJECT: CommentStatus.REJECTED,
    }[decision.action]


class ModAction:
    APPROVE = "approve"
    REJECT = "reject"
    BAN_AUTHOR = "ban_author"
    ALL = (APPROVE, REJECT, BAN_AUTHOR)


def require_moderator(token: ApiToken | None, site: Site) -> ApiToken:
    """The single check for moderator rights on a site (moderator or admin token of that site)."""
    if token is None:
        raise Forbidden("a moderator token for this site is required", code="not_moderator")
    if token.site_id != site.id:
        raise Forbidden("this token is for another site", code="not_moderator")
    return token


def moderate(
    services: Services, token: ApiToken | None, comment_id: int, action: str
) -> tuple[Comment, str, str]:
    """Apply a moderator's action; returns the updated comment, its site slug and thread key."""
    if action not in ModAction.ALL:
        raise InvalidInput(f"action must be one of {', '.join(ModAction.ALL)}", code="invalid_action")
    with services.uow.write() as store:
        comment = store.comment(comment_id)
        if comment is None:
            raise NotFound("no such comment", code="comment_not_found")
        site = store.site_by_id(comment.site_id)
        thread = store.thread_by_id(comment.thread_id)
        assert site is not None and thread is not None
        require_moderator(token, site)
        actor = f"token:{token.id}" if token else "?"
        now = services.now()
        if action == ModAction.APPROVE:
            if comment.status is not CommentStatus.PUBLISHED:
                store.set_status(comment, transition(comment.status, CommentStatus.PUBLISHED))
            store.clear_flags(comment.id)
        else:
            if comment.status is not CommentStatus.REJECTED:
                store.set_status(comment, transition(comment.status, CommentStatus.REJECTED))
            store.clear_flags(comment.id)
            if action == ModAction.BAN_AUTHOR and comment.ip_hash:
                store.add_ban(site.id, comment.ip_hash, f"ban: comment {comment.id}", now,
                              author_id=comment.author_id)
        store.add_audit(site.id, comment.id, actor, action,
                        {"from": comment.status.value}, now)
        updated = store.comment(comment.id)
        assert updated is not None
        if (updated.status is CommentStatus.PUBLISHED
                and comment.status is not CommentStatus.PUBLISHED):
            notify.on_comment_published(services, store, site, thread, updated)
        notify.on_moderation(services, store, site, thread, updated, action)
    log.info("moderation site=%s comment=%s action=%s", site.slug, comment.id, action)
    services.cache.invalidate(site.slug, thread.key)
    return updated, site.slug, thread.key
