"""Rules for untrusted text fields: what a comment body, a name or a thread key may contain."""

from __future__ import annotations

import re
import unicodedata

from rejoinder.domain.errors import InvalidInput

# C0/C1 controls other than tab, newline and carriage return; plus bidi overrides that can disguise
# text direction. Zero-width joiners stay: emoji sequences and many scripts need them.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def clean_body(body: str, *, max_chars: int) -> str:
    """Normalise a comment body (NFC, unix newlines, trimmed) or raise InvalidInput."""
    if _FORBIDDEN.search(body):
        raise InvalidInput("body contains control characters", code="invalid_body")
    text = unicodedata.normalize("NFC", body.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise InvalidInput("body must not be empty", code="invalid_body")
    if len(text) > max_chars:
        raise InvalidInput(f"body is longer than {max_chars} characters", code="body_too_long")
    return text


def clean_line(value: str | None, *, field: str, max_chars: int) -> str | None:
    """A one-line field (name, title): no controls or newlines, trimmed; empty becomes None."""
    if value is None:
        return None
    if _FORBIDDEN.search(value) or "\n" in value or "\r" in value:
        raise InvalidInput(f"{field} contains control characters", code=f"invalid_{field}")
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_chars:
        raise InvalidInput(f"{field} is longer than {max_chars} characters", code=f"invalid_{field}")
    return text or None


def clean_email(value: str | None) -> str | None:
    email = clean_line(value, field="email", max_chars=254)
    if email is None:
        return None
    local, sep, domain = email.rpartition("@")
    if not sep or not local or "." not in domain or " " in email:
        raise InvalidInput("author_email is not an email address", code="invalid_email")
    return email


def clean_thread_key(value: str) -> str:
    key = clean_line(value, field="thread", max_chars=512)
    if key is None:
        raise InvalidInput("thread must not be empty", code="invalid_thread")
    return key


def clean_url(value: str | None, *, field: str) -> str | None:
    url = clean_line(value, field=field, max_chars=2048)
    if url is None:
        return None
    if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        raise InvalidInput(f"{field} must be an http(s) URL", code=f"invalid_{field}")
    return url


def clean_origin(value: str) -> str:
    """A web origin as browsers send it, `scheme://host[:port]`: no path, query or second URL.

    Browsers compare the Origin header to the list byte for byte, so an entry with a path or a
    comma-joined pair would be accepted and never match (a site nobody can post to)."""
    url = clean_url(value, field="origin")
    if url is None:
        raise InvalidInput("origin must not be empty", code="invalid_origin")
    scheme, rest = url.split("://", 1)
    host = rest.rstrip("/")
    if not host or re.search(r"[/?#,@\s\\]", host):
        raise InvalidInput(
            f"origin must be scheme://host[:port], without a path or a list: {value!r}",
            code="invalid_origin")
    return f"{scheme.lower()}://{host.lower()}"


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise InvalidInput(
            "site must be 1-63 lowercase letters, digits or hyphens", code="invalid_site"
        )
    return value
