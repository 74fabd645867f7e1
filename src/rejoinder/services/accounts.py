"""Readers' accounts: register and sign in by password or the publisher's single sign-on,
sessions, and the reader's own data (download and deletion)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rejoinder.domain.accounts import User
from rejoinder.domain.comments import CommentStatus, transition
from rejoinder.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from rejoinder.domain.sites import Site
from rejoinder.domain.text import clean_email, clean_line
from rejoinder.services.context import Services, new_token, token_hash
from rejoinder.services.ports import AccountRepo, Store

log = logging.getLogger("rejoinder.accounts")

SESSION_DAYS = 30
SESSION_PREFIX = "rs"
LINK_PREFIX = "rl"
LINK_MINUTES = 15
LINK_EVERY = timedelta(minutes=1)  # at most one sign-in mail per address and site in this time
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")


def _accounts(store: Store) -> AccountRepo:
    # Accounts share the transaction of the store (see storage/accounts.py).
    return store.accounts()


def _site(store: Store, slug: str) -> Site:
    site = store.site_by_slug(slug)
    if site is None:
        raise NotFound(f"no site {slug!r}", code="site_not_found")
    return site


def _check_password(password: str) -> str:
    if not 10 <= len(password) <= 200:
        raise InvalidInput("password must be 10 to 200 characters", code="invalid_password")
    return password


def _start_session(services: Services, store: Store, user: User) -> str:
    token = new_token(SESSION_PREFIX)
    now = services.now()
    _accounts(store).add_session(user.id, token_hash(token), now, now + timedelta(days=SESSION_DAYS))
    return token


def register(services: Services, site_slug: str, email: str, password: str,
             name: str) -> tuple[User, str]:
    """Create a password account and sign it in; returns the user and a session token."""
    clean = clean_email(email)
    display = clean_line(name, field="name", max_chars=100)
    if clean is None or display is None:
        raise InvalidInput("email and name are required", code="invalid_input")
    hashed = _hasher.hash(_check_password(password))
    with services.uow.write() as store:
        site = _site(store, site_slug)
        user = _accounts(store).create_user(site.id, email=clean.lower(), display_name=display,
                                            password_hash=hashed, sso_id=None,
                                            now=services.now())
        token = _start_session(services, store, user)
    log.info("account created site=%s user=%s", site.slug, user.id)
    return user, token


def login(services: Services, site_slug: str, email: str, password: str) -> tuple[User, str]:
    with services.uow.write() as store:
        site = _site(store, site_slug)
        found = _accounts(store).user_by_email(site.id, email.strip().lower())
        stored = found[1] if found and found[1] else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            found = None
        if found is None or stored is _DUMMY_HASH:
            raise Unauthorized("wrong email or password", code="bad_credentials")
        return found[0], _start_session(services, store, found[0])


def sso_login(services: Services, site_slug: str, token: str) -> tuple[User, str]:
    """Sign in with the publisher's JWT (HS256, signed with the site's `sso_secret`)."""
    with services.uow.write() as store:
        site = _site(store, site_slug)
        secret = site.raw_settings.get("sso_secret")
        if not isinstance(secret, str) or len(secret) < 32:  # RFC 7518 3.2
            raise Forbidden("this site has no single sign-on", code="sso_disabled")
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"],
                                options={"require": ["sub", "exp"]}, leeway=30)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid sign-on token: {exc}", code="bad_sso_token") from exc
        sub = str(claims["sub"])[:200]
        name = clean_line(str(claims.get("name") or "Reader"), field="name", max_chars=100)
        email = claims.get("email")
        email = clean_email(email) if isinstance(email, str) and email else None
        accounts = _accounts(store)
        user = accounts.user_by_sso(site.id, sub)
        if user is None:
            user = accounts.create_user(site.id, email=email, display_name=name or "Reader",
                                        password_hash=None, sso_id=sub, now=services.now())
        elif (name or "Reader") != user.display_name or email != user.email:
            # The publisher's directory is the source of truth for SSO profiles.
            accounts.update_profile(user.id, display_name=name or "Reader", email=email)
            user = accounts.user(user.id) or user
        return user, _start_session(services, store, user)


def _return_url(site: Site, return_url: str) -> str:
    """The page the sign-in link leads back to: http(s) on one of the site's own origins, so the
    mail cannot be made to carry a working token to somebody else's page (phishing)."""
    bad = InvalidInput("return_url must be a page on this site", code="invalid_return_url")
    if len(return_url) > 2048 or any(c.isspace() or ord(c) < 32 or c == "\\" for c in return_url):
        raise bad
    try:
        parts = urlsplit(return_url)
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise bad from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise bad
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin not in {o.lower() for o in site.origins}:
        raise bad
    return return_url.split("#", 1)[0]


def request_magic_link(services: Services, site_slug: str, email: str, return_url: str) -> None:
    """Email a single-use sign-in link, whether or not the address has an account (the answer is
    the same either way, so nobody learns who has one). The account is created on first use."""
    from rejoinder.services.notify import queue_login_link

    clean = clean_email(email)
    if clean is None:
        raise InvalidInput("email is required", code="invalid_email")
    address = clean.lower()
    with services.uow.write() as store:
        site = _site(store, site_slug)
        page = _return_url(site, return_url)
        accounts = _accounts(store)
        now = services.now()
        if accounts.login_link_sent_since(site.id, address, now - LINK_EVERY):
            log.info("sign-in link not sent site=%s: one went to this address a moment ago",
                     site.slug)
            return
        token = new_token(LINK_PREFIX)
        hashed = token_hash(token)
        accounts.add_login_link(site.id, address, hashed, now,
                                now + timedelta(minutes=LINK_MINUTES))
        queue_login_link(services, store, site, address, f"{page}#rejoinder-login={token}",
                         hashed, LINK_MINUTES)


def verify_magic_link(services: Services, site_slug: str, token: str) -> tuple[User, str]:
    """Use a sign-in link (once): sign in its address's account, creating it on first use."""
    bad = Unauthorized("this sign-in link is unknown, used or expired", code="bad_link")
    if not token.startswith(LINK_PREFIX + "_") or len(token) > 100:
        raise bad
    with services.uow.write() as store:
        site = _site(store, site_slug)
        accounts = _accounts(store)
        now = services.now()
        address = accounts.use_login_link(site.id, token_hash(token), now)
        if address is None:
            raise bad
        found = accounts.user_by_email(site.id, address)
        if found is not None:
            user = found[0]
        else:
            name = clean_line(address.partition("@")[0], field="name", max_chars=100) or "Reader"
            try:
                user = accounts.create_user(site.id, email=address, display_name=name,
                                            password_hash=None, sso_id=None, now=now)
            except Conflict:  # created meanwhile by a concurrent sign-up
                again = accounts.user_by_email(site.id, address)
                if again is None:
                    raise
                user = again[0]
            log.info("account created by sign-in link site=%s user=%s", site.slug, user.id)
        return user, _start_session(services, store, user)


def session_user(services: Services, bearer: str | None) -> User | None:
    """The signed-in reader behind a session token, or None."""
    if not bearer or not bearer.startswith(SESSION_PREFIX + "_"):
        return None
    with services.uow.read() as store:
        return _accounts(store).session_user(token_hash(bearer), services.now())


def require_user(services: Services, bearer: str | None) -> User:
    user = session_user(services, bearer)
    if user is None:
        raise Unauthorized("sign in first", code="not_signed_in")
    return user


def logout(services: Services, bearer: str | None) -> None:
    if bearer:
        with services.uow.write() as store:
            _accounts(store).end_session(token_hash(bearer))


def export_data(services: Services, user: User) -> dict[str, Any]:
    """Everything we hold about a reader, as JSON (GDPR art. 15/20)."""
    from rejoinder.services.comments import user_voter_key

    with services.uow.read() as store:
        accounts = _accounts(store)
        comments = accounts.user_comments(user.id)
        votes = accounts.user_votes(user_voter_key(services, user))
    keep = ("id", "thread_id", "parent_id", "status", "body_md", "created_at", "edited_at",
            "score", "quote")
    return {
        "account": user.to_json() | {"created_at": user.created_at.isoformat()},
        "comments": [{k: _jsonable(c[k]) for k in keep} for c in comments],
        "votes": [{k: _jsonable(v) for k, v in vote.items()} for vote in votes],
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def delete_account(services: Services, user: User) -> int:
    """Delete the account; its comments stay as "[deleted]" so replies keep their place."""
    invalidate: set[tuple[str, str]] = set()
    with services.uow.write() as store:
        accounts = _accounts(store)
        site = store.site_by_id(user.site_id)
        assert site is not None
        rows = accounts.user_comments(user.id)
        for row in rows:
            comment = store.comment(row["id"])
            assert comment is not None
            if comment.status is not CommentStatus.DELETED:
                store.set_status(comment, transition(comment.status, CommentStatus.DELETED))
            thread = store.thread_by_id(comment.thread_id)
            assert thread is not None
            invalidate.add((site.slug, thread.key))
        accounts.forget_user(user.id)
    for site_slug, key in invalidate:
        services.cache.invalidate(site_slug, key)
    log.info("account deleted user=%s comments=%d", user.id, len(rows))
    return len(rows)
