"""Notifications enqueued inside the transaction that causes them (the outbox pattern).

The functions here only write outbox rows through the store; delivery (SMTP, webhooks) happens
after commit, in `rejoinder.notifications`. A rolled-back comment therefore never sends mail, and a
committed one always will. Every message has a dedupe key, so calling a hook twice for the same
event (a comment approved, edited back into the queue, approved again) mails nobody twice.

Readers' mail is double opt-in: a subscription from an address that never confirmed one on this
site gets only the confirmation mail until its link is used. See docs/notifications.md.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from rejoinder.domain.comments import Comment, CommentStatus
from rejoinder.domain.notifications import OutboxKind, Subscription, SubscriptionKind
from rejoinder.domain.sites import Site, Thread
from rejoinder.services.context import Services, token_hash
from rejoinder.services.ports import NotificationStore, Store

MAIL_BODY_CHARS = 4000  # a notification quotes the comment, it need not carry a whole essay


def _repo(store: Store) -> NotificationStore:
    # Runs on the store's own connection, hence inside the same transaction as the comment.
    return store.notifications()


# -- hooks, called by the posting and moderation services inside their transactions ----------
def on_comment_posted(
    services: Services, store: Store, site: Site, thread: Thread, comment: Comment
) -> None:
    """Called in the posting transaction, whatever the comment's status."""
    repo = _repo(store)
    now = services.now()
    if comment.notify and comment.author_email and comment.status is not CommentStatus.REJECTED:
        _subscribe(services, repo, site, thread, comment, now)
    _webhook(services, repo, site, thread, comment, "comment.created",
             f"webhook:comment.created:{comment.id}", now)
    if comment.status is CommentStatus.PENDING:
        _queue_alert(services, repo, site, now)


def on_comment_published(
    services: Services, store: Store, site: Site, thread: Thread, comment: Comment
) -> None:
    """Called in the transaction that makes a comment visible (at posting, or on approval)."""
    repo = _repo(store)
    now = services.now()
    parent = store.comment(comment.parent_id) if comment.parent_id is not None else None
    parent_email = (parent.author_email or "").lower() if parent else ""
    author = (comment.author_email or "").lower()
    # Replies subscriptions first: someone following both hears "a reply to you", once.
    audience = sorted(repo.audience(thread.id, comment.parent_id),
                      key=lambda s: (s.kind is not SubscriptionKind.REPLIES, s.id))
    seen: set[str] = set()
    for sub in audience:
        address = sub.email.lower()
        if address == author or address in seen:  # nobody hears of their own comment
            continue
        seen.add(address)
        reply = sub.kind is SubscriptionKind.REPLIES or address == parent_email
        payload = _comment_mail(services, site, thread, comment, sub, reply=reply)
        repo.enqueue(OutboxKind.EMAIL, payload,
                     f"mail:{comment.id}:{_address_key(services, address)}", now)


def on_moderation(
    services: Services, store: Store, site: Site, thread: Thread, comment: Comment, action: str
) -> None:
    """Called in the transaction of a moderator's action (approve, reject, ban_author)."""
    event = "comment.approved" if action == "approve" else "comment.rejected"
    # A comment can be approved, rejected and approved again: each action is its own event.
    _webhook(services, _repo(store), site, thread, comment, event,
             f"webhook:{event}:{comment.id}:{uuid.uuid4().hex}", services.now())


# -- what the hooks enqueue --------------------------------------------------------------------
def _subscribe(
    services: Services, repo: NotificationStore, site: Site, thread: Thread, comment: Comment,
    now: datetime,
) -> None:
    assert comment.author_email and comment.notify
    email = comment.author_email
    kind = SubscriptionKind(comment.notify)
    if kind is SubscriptionKind.THREAD and repo.has_thread_subscription(thread.id, email):
        return
    # Double opt-in: an address that confirmed once on this site has shown it is theirs.
    confirmed = repo.address_confirmed(site.id, email)
    token = secrets.token_urlsafe(24)
    sub = repo.add_subscription(
        site_id=site.id, thread_id=thread.id, email=email, kind=kind,
        comment_id=comment.id if kind is SubscriptionKind.REPLIES else None,
        token_hash=token_hash(token), confirmed_at=now if confirmed else None, now=now,
    )
    if confirmed:
        return
    payload = _mail(
        to=email, template="confirm", site=site,
        subject=f"Confirm notifications from {site.name}",
        unsubscribe_url=unsubscribe_url(services, sub),
        vars={"thread_title": thread.title or thread.key, "kind": kind.value,
              "confirm_url": _page_url(services, "confirm", token)},
    )
    # One confirmation mail per address, site and day: posting five comments sends one, and
    # its link confirms every waiting subscription of the address (see `confirm`).
    day = now.strftime("%Y-%m-%d")
    repo.enqueue(OutboxKind.EMAIL, payload,
                 f"confirm:{site.id}:{_address_key(services, email)}:{day}", now)


def _comment_mail(
    services: Services, site: Site, thread: Thread, comment: Comment, sub: Subscription, *,
    reply: bool,
) -> dict[str, Any]:
    title = thread.title or thread.key
    author = comment.display_name
    subject = f"{author} replied to your comment on {title}" if reply else f"New comment on {title}"
    body = comment.body_md
    if len(body) > MAIL_BODY_CHARS:
        body = body[:MAIL_BODY_CHARS].rstrip() + " …"
    return _mail(
        to=sub.email, template="comment", site=site, subject=subject,
        unsubscribe_url=unsubscribe_url(services, sub),
        vars={"thread_title": title, "author_name": author, "body": body, "reply": reply,
              "comment_url": comment_url(services, site, thread, comment.id),
              "kind": sub.kind.value},
    )


def _queue_alert(services: Services, repo: NotificationStore, site: Site, now: datetime) -> None:
    email = site.settings.moderator_email
    if not email:
        return
    size = repo.queue_size(site.id)
    if size < site.settings.queue_alert_threshold:
        return
    payload = _mail(
        to=email, template="queue", site=site,
        subject=f"{size} comments wait for moderation on {site.name}", unsubscribe_url=None,
        vars={"size": size, "threshold": site.settings.queue_alert_threshold,
              "public_url": services.settings.public_url},
    )
    # At most one alert per site and hour, however fast the queue grows.
    repo.enqueue(OutboxKind.EMAIL, payload, f"queue:{site.id}:{now:%Y%m%d%H}", now)


def _webhook(
    services: Services, repo: NotificationStore, site: Site, thread: Thread, comment: Comment,
    event: str, dedupe_key: str, now: datetime,
) -> None:
    if not (site.settings.webhook_url and site.settings.webhook_secret):
        return  # unsigned webhooks are never sent
    body = {
        "id": uuid.uuid4().hex,  # stable across retries: receivers dedupe on it
        "type": event,
        "created_at": _iso(now),
        "site": site.slug,
        "thread": {"key": thread.key, "title": thread.title, "url": thread.url},
        # The publisher's own readers' comment, without their email or IP hash.
        "comment": {
            "id": comment.id, "parent_id": comment.parent_id, "status": comment.status.value,
            "author": {"name": comment.display_name, "is_guest": comment.is_guest},
            "body_md": comment.body_md, "body_html": comment.body_html,
            "created_at": _iso(comment.created_at),
            "url": comment_url(services, site, thread, comment.id),
        },
    }
    # URL and secret are read from the site at send time, so a rotated secret applies at once.
    repo.enqueue(OutboxKind.WEBHOOK, {"site_id": site.id, "event": body}, dedupe_key, now)


def queue_login_link(
    services: Services, store: Store, site: Site, email: str, link: str, link_hash: str,
    minutes: int,
) -> None:
    """The sign-in link mail (magic link), in the caller's transaction. No unsubscribe link:
    it is sent only on the reader's own request, and one per address and minute at most."""
    payload = _mail(
        to=email, template="login", site=site, subject=f"Sign in to the comments on {site.name}",
        unsubscribe_url=None, vars={"login_url": link, "minutes": minutes},
    )
    _repo(store).enqueue(OutboxKind.EMAIL, payload, f"login:{link_hash[:48]}", services.now())


def _mail(
    *, to: str, template: str, site: Site, subject: str, unsubscribe_url: str | None,
    vars: dict[str, Any],
) -> dict[str, Any]:
    """An email's outbox payload: rendered at send time by `notifications.emails`."""
    return {"to": to, "template": template, "subject": subject, "site_id": site.id,
            "site_name": site.name, "unsubscribe_url": unsubscribe_url, "vars": vars}


# -- links -------------------------------------------------------------------------------------
def comment_url(services: Services, site: Site, thread: Thread, comment_id: int) -> str:
    """The comment on the publisher's article, or on our no-JS thread page if the URL is unknown."""
    if thread.url:
        return f"{thread.url.split('#', 1)[0]}#comment-{comment_id}"
    query = urlencode({"thread": thread.key})
    # The no-JS thread page anchors comments as `c<id>` (templates/_comment.html).
    return f"{services.settings.public_url}/sites/{quote(site.slug)}/threads?{query}#c{comment_id}"


def _page_url(services: Services, page: str, token: str) -> str:
    return f"{services.settings.public_url}/subscriptions/{page}?{urlencode({'token': token})}"


def unsubscribe_url(services: Services, sub: Subscription) -> str:
    """The one-click unsubscribe URL of a subscription (RFC 8058), signed with the secret key."""
    return _page_url(services, "unsubscribe", f"{sub.id}.{_link_signature(services, sub)}")


def _link_signature(services: Services, sub: Subscription) -> str:
    # Keyed by the subscription's own token hash: links can't be forged from an id, and a
    # database copy without the secret key can't make them either.
    return services.keyed_hash("unsubscribe", f"{sub.id}:{sub.token_hash}")


def verify_signed_link(
    services: Services, repo: NotificationStore, token: str
) -> Subscription | None:
    """The subscription an unsubscribe token names, or None if it is malformed or forged."""
    sub_id, _, signature = token.partition(".")
    if not sub_id.isdigit() or len(sub_id) > 18 or not signature:
        return None
    sub = repo.subscription(int(sub_id))
    if sub is None or not hmac.compare_digest(signature, _link_signature(services, sub)):
        return None
    return sub


def _address_key(services: Services, email: str) -> str:
    # Dedupe keys name an address without spelling it out.
    return services.keyed_hash("email", email.lower())


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# -- readers' pages: confirm and unsubscribe --------------------------------------------------
@dataclass(frozen=True)
class SubscriptionView:
    """What the confirm and unsubscribe pages show (never the address in full)."""

    site_name: str
    thread_title: str
    thread_url: str | None
    kind: SubscriptionKind
    confirmed: bool
    unsubscribed: bool
    others: int  # the address's other active subscriptions on the site


def _view(store: Store, repo: NotificationStore, sub: Subscription) -> SubscriptionView:
    site = store.site_by_id(sub.site_id)
    thread = store.thread_by_id(sub.thread_id)
    assert site is not None and thread is not None
    others = sum(1 for s in repo.subscriptions_of(sub.site_id, sub.email)
                 if s.id != sub.id and s.unsubscribed_at is None)
    return SubscriptionView(
        site_name=site.name, thread_title=thread.title or thread.key, thread_url=thread.url,
        kind=sub.kind, confirmed=sub.confirmed_at is not None,
        unsubscribed=sub.unsubscribed_at is not None, others=others,
    )


def confirm_view(services: Services, token: str) -> SubscriptionView | None:
    with services.uow.read() as store:
        repo = _repo(store)
        sub = repo.subscription_by_token_hash(token_hash(token))
        return _view(store, repo, sub) if sub else None


def confirm(services: Services, token: str) -> SubscriptionView | None:
    """Confirm the address behind a confirmation token: all its waiting subscriptions on the site."""
    with services.uow.write() as store:
        repo = _repo(store)
        sub = repo.subscription_by_token_hash(token_hash(token))
        if sub is None:
            return None
        repo.confirm_address(sub.site_id, sub.email, services.now())
        confirmed = repo.subscription(sub.id)
        assert confirmed is not None
        return _view(store, repo, confirmed)


def unsubscribe_view(services: Services, token: str) -> SubscriptionView | None:
    with services.uow.read() as store:
        repo = _repo(store)
        sub = verify_signed_link(services, repo, token)
        return _view(store, repo, sub) if sub else None


def unsubscribe(services: Services, token: str, *, everything: bool = False) -> SubscriptionView | None:
    """End one subscription (the one-click POST), or every one of its address on the site."""
    with services.uow.write() as store:
        repo = _repo(store)
        sub = verify_signed_link(services, repo, token)
        if sub is None:
            return None
        ids = [s.id for s in repo.subscriptions_of(sub.site_id, sub.email)] if everything else [
            sub.id]
        repo.unsubscribe(ids, services.now())
        done = repo.subscription(sub.id)
        assert done is not None
        return _view(store, repo, done)
