"""What every importer yields (threads and comments in the source system's terms), and helpers.

Readers turn a file into `SourceThread` and `SourceComment` records; `pipeline.run_import` maps
them to rows. Records refer to each other by the *source* ids (`ref`), never by ours.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from rejoinder.domain.comments import CommentStatus

GUEST = None  # a missing author is stored as no name; readers see "Guest" (Comment.display_name)

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class ImportFailed(Exception):
    """The file cannot be imported; the message says where (line, column or element)."""


@dataclass(slots=True)
class SourceThread:
    ref: str  # the thread's id in the source system
    url: str | None
    identifier: str | None = None  # Disqus's own thread identifier, if any
    title: str | None = None
    created_at: datetime | None = None
    locked: bool = False
    deleted: bool = False
    forum: str | None = None  # Disqus forum shortname (one file may hold several)


@dataclass(slots=True)
class SourceComment:
    ref: str
    thread_ref: str
    parent_ref: str | None
    status: CommentStatus
    created_at: datetime
    html: str | None = None  # HTML from the old system (sanitised on the way in), or
    markdown: str | None = None  # Markdown (rendered like a new comment)
    author_name: str | None = None
    author_email: str | None = None
    ip: str | None = None  # hashed with the server's keyed hash, never stored
    edited_at: datetime | None = None
    upvotes: int = 0
    downvotes: int = 0


@dataclass(slots=True)
class Skipped:
    """A record the reader saw but will not import (pingbacks, …), counted in the summary."""

    reason: str


Record = SourceThread | SourceComment | Skipped


class Source(Protocol):
    """A file being read: records in file order, and how far through it the reader is."""

    system: str  # "disqus", "wordpress", "isso": the prefix of `comments.source_key`

    @property
    def total(self) -> int | None:
        """Bytes (or comments) in the source, for the progress bar; None while unknown."""

    @property
    def position(self) -> int:
        """Bytes (or comments) read so far."""

    def records(self) -> Iterator[Record]: ...


# -- field helpers (shared by the readers) -------------------------------------------------------
def clean_text_line(value: str | None, max_chars: int) -> str | None:
    """A one-line field: controls and newlines dropped, NFC, trimmed, cut to length; None if empty."""
    if not value:
        return None
    value = _FORBIDDEN.sub("", value).replace("\r", " ").replace("\n", " ")
    value = unicodedata.normalize("NFC", value).strip()
    return value[:max_chars] or None


def clean_email(value: str | None) -> str | None:
    email = clean_text_line(value, 254)
    if email is None or "@" not in email or " " in email:
        return None
    return email


def clean_body_text(value: str) -> str:
    return unicodedata.normalize("NFC", _FORBIDDEN.sub("", value.replace("\r\n", "\n"))).strip()


def parse_iso(value: str | None) -> datetime | None:
    """`2012-05-12T13:51:09Z` (Disqus) or `2012-05-12 13:51:09` (WordPress, UTC); None if blank."""
    if not value or not value.strip() or value.startswith("0000-00-00"):
        return None
    parsed = datetime.fromisoformat(value.strip())  # 3.11 reads a trailing "Z"
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_TRUE = frozenset({"true", "1", "yes"})


def flag(value: str | None) -> bool:
    if value is None:
        return False
    return value in _TRUE or value.strip().lower() in _TRUE


_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_ATTR = re.compile(r"""\b(src|alt)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def images_as_links(raw_html: str) -> str:
    """`<img src=…>` → a link to the image, as `render_comment_html` does for Markdown images.

    Comments never load third-party images into the page (old Disqus and wpDiscuz comments
    often embed them). The result still goes through `sanitize_html`.
    """
    if "<img" not in raw_html and "<IMG" not in raw_html:
        return raw_html

    def link(m: re.Match[str]) -> str:
        found = {a.group(1).lower(): a.group(2) or a.group(3) or "" for a in _IMG_ATTR.finditer(m.group(0))}
        src = found.get("src", "")
        if not src:
            return ""
        label = html.escape(html.unescape(found.get("alt") or src))
        return f'<a href="{html.escape(html.unescape(src))}">{label}</a>'

    return _IMG.sub(link, raw_html)


_BLOCK_END = re.compile(r"</(?:p|blockquote|li|pre)>\s*", re.IGNORECASE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(safe_html: str) -> str:
    """Plain text of already sanitised HTML: what moderators read and classifiers score.

    Stored as `body_md` for imported HTML comments (the original markup is `body_html`).
    Block ends become a blank line, `<br>` a line break (block ends first: the whitespace a
    block end swallows never holds a `<br>`, so the order gives what one pass would).
    """
    spaced = _BR.sub("\n", _BLOCK_END.sub("\n\n", safe_html))
    text = _TAG.sub("", spaced)
    return (html.unescape(text) if "&" in text else text).strip()


@dataclass(frozen=True, slots=True)
class KeyMap:
    """Old thread URLs to thread keys: strip the scheme and host, then rewrite prefixes.

    `https://blog.example.org/2020/01/post/?x=1#c5` → `/2020/01/post/?x=1` (fragments never
    name a thread). `rewrite` pairs apply in order, the first matching prefix wins.
    """

    keep_domain: bool = False
    rewrite: tuple[tuple[str, str], ...] = ()

    def key(self, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        key = _FORBIDDEN.sub("", value.strip())
        if not self.keep_domain:
            parts = urlsplit(key)
            if parts.scheme in ("http", "https") and parts.netloc:
                key = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for old, new in self.rewrite:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        return key[:512] or None
