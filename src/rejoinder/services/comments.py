"""Readers' use cases: read a thread, post, edit, delete, vote, flag, count."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from rejoinder.domain.accounts import User
from rejoinder.domain.comments import (
    Comment,
    CommentStatus,
    SortOrder,
    build_tree,
    decode_cursor,
    encode_cursor,
    top_level_key,
    transition,
)
from rejoinder.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from rejoinder.domain.sites import ApiToken, Site, Thread
from rejoinder.domain.text import clean_body, clean_email, clean_line, clean_thread_key, clean_url
from rejoinder.markup import render_comment_html
from rejoinder.services import accounts, notify
from rejoinder.services.context import Services, token_hash
from rejoinder.services.moderation import author_context, judge, require_moderator, status_for
from rejoinder.services.ports import Store

log = logging.getLogger("rejoinder.comments")

FLAG_REASONS = ("spam", "abuse", "hate", "threat", "sexual", "off_topic", "other")
NOTIFY = ("replies", "thread")


@dataclass(frozen=True)
class Client:
    """Who sent a request, as far as we may know it: never the raw IP past this object."""

    ip: str
    origin: str | None = None
    bearer: str | None = None
    idempotency_key: str | None = None
    # The request came from a page of this server itself (Origin = the Host it was sent to),
    # such as /demo: not a cross-site post, so the site's origin list does not apply.
    same_origin: bool = False


@dataclass(frozen=True)
class PostCommand:
    site: str
    thread: str
    body: str
    parent_id: int | None = None
    author_name: str | None = None
    author_email: str | None = None
    thread_title: str | None = None
    thread_url: str | None = None
    notify: str | None = None
    quote: dict[str, str] | None = None


@dataclass(frozen=True)
class PostResult:
    comment: Comment
    edit_token: str | None
    created: bool  # False when an idempotent retry returned the first comment

    def to_json(self) -> dict[str, Any]:
        """The API's answer: the comment, and the edit token a guest needs to change it."""
        out = self.comment.to_json()
        if self.edit_token:
            out["edit_token"] = self.edit_token
        return out


def _site(store: Store, slug: str) -> Site:
    site = store.site_by_slug(slug)
    if site is None:
        raise NotFound(f"no site {slug!r}", code="site_not_found")
    return site


def _signed_in(services: Services, client: Client, site: Site) -> User | None:
    """The reader signed in with this request's session token, if it belongs to this site."""
    user = accounts.session_user(services, client.bearer)
    if user is None and client.bearer and client.bearer.startswith("rs_"):
        # Never fall back to posting as a guest when the reader meant to be signed in.
        raise Unauthorized("the session has ended; sign in again", code="session_expired")
    if user is not None and user.site_id != site.id:
        raise Forbidden("this session belongs to another site", code="wrong_site")
    return user


def _check_origin(site: Site, client: Client) -> None:
    # Browsers always send Origin on cross-site POSTs; a page not on the site's list is refused.
    if (client.origin and client.origin != "null" and not client.same_origin
            and not site.allows_origin(client.origin)):
        raise Forbidden("this origin may not post to this site", code="origin_not_allowed")


def read_thread(
    services: Services, site_slug: str, thread_key: str, sort: SortOrder, limit: int,
    cursor: str | None,
) -> bytes:
    """A page of a thread as JSON bytes, from the cache when the thread has not changed."""
    variant = f"{sort.value}|{limit}|{cursor or ''}"
    cached = services.cache.get(site_slug, thread_key, variant)
    if cached is not None:
        return cached
    generation = services.cache.generation(site_slug, thread_key)
    after = decode_cursor(sort, cursor) if cursor else None
    with services.uow.read() as store:
        site = _site(store, site_slug)
        thread = store.thread(site.id, thread_key)
        if thread is None:
            body: dict[str, Any] = {
                "thread": {"key": thread_key, "title": None, "url": None, "comment_count": 0,
                           "locked": False},
                "comments": [],
                "next_cursor": None,
            }
        else:
            top = store.top_level_page(thread.id, sort, after, limit + 1)
            more = len(top) > limit
            top = top[:limit]
            replies = store.replies_under(thread.id, [n.id for n in top])
            next_cursor = encode_cursor(sort, top_level_key(top[-1], sort)) if more else None
            tree = build_tree(top, replies)
            body = {
                "thread": thread.to_json(),
                "comments": [n.to_json() for n in tree],
                "next_cursor": next_cursor,
            }
    body["edit_window_seconds"] = _edit_window(services, site)
    if site.settings.support:
        body["support"] = dict(site.settings.support)
    page = orjson.dumps(body)
    services.cache.put(site_slug, thread_key, variant, page, generation)
    return page


def _edit_window(services: Services, site: Site) -> int:
    window = site.settings.edit_window_s
    return services.settings.edit_window_s if window is None else window


def _parse_post(services: Services, cmd: PostCommand) -> dict[str, Any]:
    """Validate every field before anything touches the database (nothing partial is stored)."""
    notify = cmd.notify
    if notify is not None and notify not in NOTIFY:
        raise InvalidInput("notify must be 'replies' or 'thread'", code="invalid_notify")
    quote = None
    if cmd.quote is not None:
        quote = {}
        for k in ("exact", "prefix", "suffix"):
            v = cmd.quote.get(k)
            if v is not None and not isinstance(v, str):
                raise InvalidInput("quote fields must be strings", code="invalid_quote")
            # Whitespace is significant in a TextQuoteSelector: check, but don't trim.
            if v and clean_line(v, field="quote", max_chars=1000) is None and v.strip():
                raise InvalidInput("quote fields must be text", code="invalid_quote")
            quote[k] = v or ""
        if not quote["exact"]:
            raise InvalidInput("quote.exact must not be empty", code="invalid_quote")
    return {
        "thread": clean_thread_key(cmd.thread),
        "body": clean_body(cmd.body, max_chars=services.settings.max_comment_chars),
        "author_name": clean_line(cmd.author_name, field="author_name", max_chars=100),
        "author_email": clean_email(cmd.author_email),
        "thread_title": clean_line(cmd.thread_title, field="thread_title", max_chars=500),
        "thread_url": clean_url(cmd.thread_url, field="thread_url"),
        "notify": notify,
        "quote": quote,
    }


def post_comment(services: Services, cmd: PostCommand, client: Client) -> PostResult:
    """Validate, score, and store a new comment in one transaction; publish events after commit."""
    fields = _parse_post(services, cmd)
    ip_hash = services.keyed_hash("ip", client.ip)
    # One read transaction for everything the decision needs: the site, the reader, the author's
    # history (the session lookup, when a token is sent, reads on a connection of its own).
    with services.uow.read() as store:
        site = _site(store, cmd.site)
        _check_origin(site, client)
        user = _signed_in(services, client, site)
        if user is None and not site.settings.guest_posting:
            raise Forbidden("sign in to comment on this site", code="guests_not_allowed")
        context = author_context(services, store, site, ip_hash, user.id if user else None)
    request_key = (
        services.keyed_hash("idem", f"{site.id}:{client.idempotency_key}")
        if client.idempotency_key else None
    )
    body_html = render_comment_html(fields["body"])
    # Scored before the transaction: a slow model must not hold a database lock.
    verdict = judge(services, site, fields["body"], context)
    edit_token = secrets.token_urlsafe(24)
    now = services.now()

    def store_comment(store: Store) -> tuple[Comment, Thread | None]:
        """The transaction's work; the thread is None when an idempotent retry found its post."""
        if request_key:
            earlier = store.comment_by_request_key(request_key)
            if earlier is not None:
                return earlier, None
        thread = store.ensure_thread(
            site.id, fields["thread"], fields["thread_title"], fields["thread_url"], now
        )
        if thread.locked:
            raise Conflict("this thread is closed for comments", code="thread_locked")
        root_id = None
        if cmd.parent_id is not None:
            parent = store.comment(cmd.parent_id)
            if parent is None or parent.thread_id != thread.id:
                raise InvalidInput("parent_id is not a comment of this thread",
                                   code="invalid_parent")
            if parent.status is not CommentStatus.PUBLISHED:
                raise InvalidInput("cannot reply to a comment that is not published",
                                   code="invalid_parent")
            root_id = parent.root_id or parent.id
        status = _author_rules(store, site, status_for(verdict.decision), ip_hash,
                               user.id if user else None, verdict.record["reasons"])
        comment = store.insert_comment({
            "site_id": site.id, "thread_id": thread.id, "parent_id": cmd.parent_id,
            "root_id": root_id, "status": status.value, "body_md": fields["body"],
            "body_html": body_html,
            "author_name": user.display_name if user else fields["author_name"],
            "author_email": user.email if user else fields["author_email"],
            "author_id": user.id if user else None, "is_guest": user is None,
            "ip_hash": ip_hash, "edit_token_hash": None if user else token_hash(edit_token),
            "notify": fields["notify"],
            "quote": fields["quote"], "moderation": verdict.record, "request_key": request_key,
            "created_at": now, "edited_at": None,
        })
        notify.on_comment_posted(services, store, site, thread, comment)
        if status is CommentStatus.PUBLISHED:
            store.count_published(comment)
            notify.on_comment_published(services, store, site, thread, comment)
        return comment, thread

    # Group commit: concurrent posts share one transaction and one fsync (ADR 0017).
    comment, thread = services.uow.write_grouped(store_comment)
    if thread is None:
        return PostResult(comment, None, created=False)
    status = comment.status
    log.info("comment posted site=%s thread=%s comment=%s status=%s",
             site.slug, thread.id, comment.id, status.value)
    if status is CommentStatus.PUBLISHED:
        _changed(services, site.slug, thread.key, "comment.created", comment)
    return PostResult(comment, None if user else edit_token, created=True)


def _author_rules(
    store: Store, site: Site, status: CommentStatus, ip_hash: str, author_id: int | None,
    reasons: list[str],
) -> CommentStatus:
    """Per-author site rules on top of the policy: bans and pre-moderation of newcomers."""
    ban = store.ban_kind(site.id, ip_hash, author_id)
    if ban == "ban":
        reasons.append("author is banned on this site")
        return CommentStatus.REJECTED
    if status is not CommentStatus.PUBLISHED:
        return status
    if ban == "shadow":
        # Shadow-banned authors' comments wait unseen; they are not told why.
        reasons.append("author is shadow-banned on this site")
        return CommentStatus.PENDING
    if site.settings.premoderate_first_time and not store.has_published(
        site.id, ip_hash, author_id
    ):
        reasons.append("first comment from this author")
        return CommentStatus.PENDING
    return status


def _changed(
    services: Services, site: str, thread: str, event: str, comment: Comment
) -> None:
    services.cache.invalidate(site, thread)
    data: dict[str, Any] = {"id": comment.id, "parent_id": comment.parent_id}
    if event != "comment.removed":
        data["comment"] = comment.to_json()
    services.events.publish(site, thread, event, data)


def _authorize_change(
    services: Services, store: Store, comment: Comment, site: Site, client: Client,
    token: ApiToken | None,
) -> str:
    """The author (edit token, inside the window) or a moderator of the site may change a comment."""
    if token is not None:
        require_moderator(token, site)
        return f"token:{token.id}"
    if not client.bearer:
        raise Unauthorized("send the comment's edit token as a Bearer token", code="no_token")
    user = _signed_in(services, client, site)
    if user is not None:
        if comment.author_id != user.id:
            raise Forbidden("this is not your comment", code="not_author")
    elif not comment.edit_token_hash or not hmac.compare_digest(
        token_hash(client.bearer), comment.edit_token_hash
    ):
        raise Forbidden("this token may not change this comment", code="bad_token")
    window = timedelta(seconds=_edit_window(services, site))
    if services.now() - comment.created_at > window:
        raise Forbidden("the edit window has closed", code="edit_window_closed")
    return "author"


def lookup_token(services: Services, bearer: str | None) -> ApiToken | None:
    """The API token behind a bearer string, or None (guest edit tokens are not API tokens)."""
    if not bearer or not bearer.startswith("rj_"):
        return None
    with services.uow.read() as store:
        return store.token(token_hash(bearer))


def edit_comment(services: Services, comment_id: int, body: str, client: Client) -> Comment:
    text = clean_body(body, max_chars=services.settings.max_comment_chars)
    token = lookup_token(services, client.bearer)
    with services.uow.read() as store:
        comment, site, thread_key = _load(store, comment_id)
        _authorize_change(services, store, comment, site, client, token)
    if comment.status in (CommentStatus.DELETED, CommentStatus.REJECTED):
        raise Conflict(f"a {comment.status.value} comment cannot be edited", code="not_editable")
    verdict = judge(services, site, text)
    new_status = status_for(verdict.decision)
    now = services.now()
    with services.uow.write() as store:
        current = store.comment(comment_id)
        assert current is not None
        store.update_body(comment_id, text, render_comment_html(text), now, verdict.record)
        if new_status is not current.status and current.status is CommentStatus.PUBLISHED:
            # An edit that the policy would not publish goes back to the queue (or is rejected).
            store.set_status(current, transition(current.status, new_status))
        updated = store.comment(comment_id)
        assert updated is not None
    if current.status is CommentStatus.PUBLISHED:
        event = "comment.edited" if updated.status is CommentStatus.PUBLISHED else "comment.removed"
        _changed(services, site.slug, thread_key, event, updated)
    return updated


def delete_comment(services: Services, comment_id: int, client: Client) -> None:
    token = lookup_token(services, client.bearer)
    with services.uow.write() as store:
        comment, site, thread_key = _load(store, comment_id)
        actor = _authorize_change(services, store, comment, site, client, token)
        if comment.status is CommentStatus.DELETED:
            return
        store.set_status(comment, transition(comment.status, CommentStatus.DELETED))
        if actor != "author":
            store.add_audit(site.id, comment.id, actor, "delete", {}, services.now())
    _changed(services, site.slug, thread_key, "comment.removed", comment)


def _load(store: Store, comment_id: int) -> tuple[Comment, Site, str]:
    comment = store.comment(comment_id)
    if comment is None:
        raise NotFound("no such comment", code="comment_not_found")
    site = store.site_by_id(comment.site_id)
    thread = store.thread_by_id(comment.thread_id)
    assert site is not None and thread is not None
    return comment, site, thread.key


def voter_key(services: Services, site_id: int, client: Client, user: User | None) -> str:
    """Guests vote once per comment per address: clearing cookies does not give a second vote.

    A signed-in reader votes as their account (ADR 0005).
    """
    if user is not None:
        return user_voter_key(services, user)
    return services.keyed_hash("voter", f"{site_id}:{client.ip}")


def user_voter_key(services: Services, user: User) -> str:
    return services.keyed_hash("voter", f"user:{user.id}")


def cast_vote(services: Services, comment_id: int, value: int, client: Client) -> dict[str, int]:
    if value not in (-1, 0, 1):
        raise InvalidInput("value must be 1, -1 or 0", code="invalid_vote")
    with services.uow.write() as store:
        comment, site, thread_key = _load(store, comment_id)
        _check_origin(site, client)
        if comment.status is not CommentStatus.PUBLISHED:
            raise NotFound("no such comment", code="comment_not_found")
        user = _signed_in(services, client, site)
        own = (user is not None and comment.author_id == user.id) or bool(
            client.bearer and comment.edit_token_hash
            and hmac.compare_digest(token_hash(client.bearer), comment.edit_token_hash)
        )
        if own:
            raise Forbidden("authors cannot vote on their own comments", code="self_vote")
        key = voter_key(services, site.id, client, user)
        old = store.vote(comment_id, key)
        store.set_vote(comment_id, key, old, value, services.now())
        updated = store.comment(comment_id)
        assert updated is not None
    if old != value:
        services.cache.invalidate(site.slug, thread_key)
        services.events.publish(site.slug, thread_key, "comment.voted",
                                {"id": comment_id, "score": updated.score})
    return {"score": updated.score, "upvotes": updated.upvotes, "downvotes": updated.downvotes,
            "my_vote": value}


def flag_comment(
    services: Services, comment_id: int, reason: str, note: str | None, client: Client
) -> bool:
    if reason not in FLAG_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(FLAG_REASONS)}",
                           code="invalid_reason")
    note = clean_line(note, field="note", max_chars=500)
    with services.uow.write() as store:
        comment, site, _ = _load(store, comment_id)
        _check_origin(site, client)
        if comment.status is not CommentStatus.PUBLISHED:
            raise NotFound("no such comment", code="comment_not_found")
        user = _signed_in(services, client, site)
        return store.add_flag(comment_id, voter_key(services, site.id, client, user), reason,
                              note, services.now())


def counts(services: Services, site_slug: str, keys: list[str]) -> dict[str, int]:
    if not keys:
        raise InvalidInput("give at least one thread", code="invalid_thread")
    if len(keys) > 200:
        raise InvalidInput("at most 200 threads per request", code="too_many_threads")
    clean = [clean_thread_key(k) for k in keys]
    cached = services.cache.counts(site_slug, clean)
    if cached is not None:
        return cached
    generations = {k: services.cache.generation(site_slug, k) for k in clean}
    with services.uow.read() as store:
        site = _site(store, site_slug)
        found = store.counts(site.id, clean)
    services.cache.put_counts(site_slug, found, generations)
    return found


def thread_json(services: Services, site_slug: str, thread_key: str) -> dict[str, Any]:
    return dict(orjson.loads(read_thread(services, site_slug, thread_key, SortOrder.OLDEST,
                                         1000, None)))
