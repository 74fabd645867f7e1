"""Disqus XML export: `<disqus>` with `<category>`, `<thread dsq:id>` and `<post dsq:id>`.

Posts refer to their thread and parent by `dsq:id`. Threads normally come before posts, but the
pipeline copes with any order (posts of a thread not seen yet wait in a spill file), and replies
may come before their parents. Status: isDeleted → deleted, isSpam → rejected,
`isApproved` false (when present) → pending, otherwise published.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rejoinder.domain.comments import CommentStatus
from rejoinder.importers.records import (
    ImportFailed,
    Record,
    SourceComment,
    SourceThread,
    flag,
    parse_iso,
)
from rejoinder.importers.xmlstream import TopLevel, local, namespace

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DSQ = "http://disqus.com/disqus-internals"


def _children(elem: Any) -> dict[str, Any]:
    """Direct children by tag (the first of each), in one pass: cheaper than a `find` per
    field, each of which parses its path and walks the children again. (lxml builds a new
    string for every `.tag`, so each is read once.)
    """
    return {c.tag: c for c in reversed(elem)}


def _text(children: dict[str, Any], tag: str, empty: str | None = None) -> str | None:
    """The child's text; `empty` when the child is there without text (`findtext` gives "")."""
    c = children.get(tag)
    if c is None:
        return None
    text: str | None = c.text
    return empty if text is None else text


_DSQ_ID = f"{{{DSQ}}}id"


def _id(elem: Any) -> str | None:
    """`dsq:id` (or an `id` attribute in any namespace)."""
    value = elem.get(_DSQ_ID)
    if value is not None:
        return str(value)
    for key, v in elem.attrib.items():
        if local(key) == "id":
            return str(v)
    return None


class _Tags:
    """Qualified child tags (`{http://disqus.com}message`) of one namespace, built once."""

    def __init__(self, ns: str) -> None:
        for name in ("link", "id", "title", "createdAt", "isClosed", "isDeleted", "forum",
                     "thread", "parent", "author", "isSpam", "isApproved", "name", "username",
                     "email", "message", "ipAddress"):
            setattr(self, name, ns + name)

    link: str
    id: str
    title: str
    createdAt: str  # Disqus's element names
    isClosed: str
    isDeleted: str
    forum: str
    thread: str
    parent: str
    author: str
    isSpam: str
    isApproved: str
    name: str
    username: str
    email: str
    message: str
    ipAddress: str


class DisqusSource:
    system = "disqus"

    def __init__(self, path: Path) -> None:
        self._xml = TopLevel(path)
        self.total: int | None = self._xml.total
        self._posts = 0
        self._tags: dict[str, _Tags] = {}

    @property
    def position(self) -> int:
        return self._xml.position

    def records(self) -> Iterator[Record]:
        for elem in self._xml.elements(("post", "thread")):
            tag: str = elem.tag
            ns = namespace(tag)
            tags = self._tags.get(ns)
            if tags is None:
                tags = self._tags[ns] = _Tags(ns)
            if tag.endswith("post"):
                self._posts += 1
                yield self._post(elem, tags)
            else:
                yield self._thread(elem, tags)

    def _thread(self, elem: Any, t: _Tags) -> SourceThread:
        ref = _id(elem)
        if not ref:
            raise ImportFailed(f"{self._xml.path.name}: a <thread> without dsq:id")
        f = _children(elem)
        return SourceThread(
            ref=ref,
            url=_text(f, t.link),
            identifier=_text(f, t.id),
            title=_text(f, t.title),
            created_at=self._date(f, t, "thread", ref),
            locked=flag(_text(f, t.isClosed)),
            deleted=flag(_text(f, t.isDeleted)),
            forum=_text(f, t.forum),
        )

    def _post(self, elem: Any, t: _Tags) -> SourceComment:
        ref = _id(elem)
        f = _children(elem)
        thread = f.get(t.thread)
        thread_ref = _id(thread) if thread is not None else None
        if not ref or not thread_ref:
            raise ImportFailed(
                f"{self._xml.path.name}: post #{self._posts} ({ref or 'no dsq:id'}) has no "
                "dsq:id or no <thread dsq:id> reference"
            )
        parent = f.get(t.parent)
        author = f.get(t.author)
        created = self._date(f, t, "post", ref)
        if flag(_text(f, t.isDeleted)):
            status = CommentStatus.DELETED
        elif flag(_text(f, t.isSpam)):
            status = CommentStatus.REJECTED
        elif (approved := _text(f, t.isApproved, "")) is not None and not flag(approved):
            status = CommentStatus.PENDING
        else:
            status = CommentStatus.PUBLISHED
        name = email = None
        if author is not None:
            a = _children(author)
            name = _text(a, t.name) or _text(a, t.username)
            email = _text(a, t.email)
        return SourceComment(
            ref=ref,
            thread_ref=thread_ref,
            parent_ref=_id(parent) if parent is not None else None,
            status=status,
            created_at=created or EPOCH,  # Disqus always has one; be lenient
            html=_text(f, t.message) or "",
            author_name=name,
            author_email=email,
            ip=_text(f, t.ipAddress),
        )

    def _date(self, children: dict[str, Any], t: _Tags, what: str, ref: str) -> datetime | None:
        raw = _text(children, t.createdAt)
        try:
            return parse_iso(raw)
        except ValueError as exc:
            raise ImportFailed(
                f"{self._xml.path.name}: {what} dsq:id={ref}: createdAt {raw!r} is not a date"
            ) from exc
