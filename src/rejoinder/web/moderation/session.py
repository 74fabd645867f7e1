"""Moderator sessions and CSRF tokens: HMAC-signed with the server's secret key (stdlib only).

The cookie holds only the token id, site id, role, issue time and a random nonce; every request
re-checks the API token in the database, so revoking the token ends the session. The CSRF token
is an HMAC of the session's nonce: bound to the session, useless to another one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

COOKIE = "rj_mod"
LOGIN_COOKIE = "rj_mod_login"
MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    token_id: int
    site_id: int
    role: str
    issued: int  # unix seconds
    nonce: str


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def new_session(token_id: int, site_id: int, role: str, now: int) -> Session:
    return Session(token_id, site_id, role, now, secrets.token_urlsafe(16))


def sign_session(secret: str, session: Session) -> str:
    """The cookie value: base64url(JSON) + "." + HMAC-SHA256 of it."""
    raw = json.dumps([session.token_id, session.site_id, session.role, session.issued,
                      session.nonce], separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{_mac(secret, 'moderator-session', payload)}"


def read_session(secret: str, value: str | None, now: int) -> Session | None:
    """The session in a cookie if its signature is right and it has not expired, else None."""
    if not value or len(value) > 1000 or "." not in value:
        return None
    payload, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(mac.encode(), _mac(secret, "moderator-session", payload).encode()):
        return None
    try:
        token_id, site_id, role, issued, nonce = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    if not (isinstance(token_id, int) and isinstance(site_id, int) and isinstance(issued, int)
            and isinstance(role, str) and isinstance(nonce, str)):
        return None
    if not 0 <= now - issued <= MAX_AGE_S:
        return None
    return Session(token_id, site_id, role, issued, nonce)


def csrf_token(secret: str, nonce: str) -> str:
    """The CSRF token of a session (or of a sign-in form's nonce)."""
    return _mac(secret, "csrf", nonce)


def check_csrf(secret: str, nonce: str | None, given: object) -> bool:
    """True only if `given` is the CSRF token of this nonce (constant-time comparison)."""
    if not nonce or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), csrf_token(secret, nonce).encode())
