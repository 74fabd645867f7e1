"""Disqus XML export: `<disqus>` with `<category>`, `<thread dsq:id>` and `<post dsq:id>`.

Posts refer to their thread and parent by `dsq:id`. Threads normally come before posts, but the
pipeline copes with any order (posts of a thread not seen yet wait in a spill file), and replies
may come before their parents. Status: isDeleted → deleted, isSpam → rejected,
`isApproved` false (when present) → pending, otherwise published.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # see xmlstream
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rejoinder.domain.comments import CommentStatus
from rejoinder.importers.records import (
    ImportFailed,
    Record,
    SourceComment,
    SourceThread,
    flag,
    parse_iso,
)
from rejoinder.importers.xmlstream import XmlStream, attr, child_text, local, namespace

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DSQ = "http://disqus.com/disqus-internals"


class DisqusSource:
    system = "disqus"

    def __init__(self, path: Path) -> None:
        self._xml = XmlStream(path)
        self.total: int | None = self._xml.total
        self._posts = 0

    @property
    def position(self) -> int:
        return self._xml.position

    def records(self) -> Iterator[Record]:
        for _depth, elem in self._xml.ends(max_depth=1):
            name = local(elem.tag)
            # Namespaced names for the C fast path of find/findtext (per-post hot loop).
            self._ns = ns = namespace(elem.tag)
            self._id = f"{{{DSQ}}}id" if ns else "id"
            if name == "post":
                self._posts += 1
                yield self._post(elem)
            elif name == "thread":
                yield self._thread(elem)
            self._xml.detach(elem)

    def _thread(self, elem: ET.Element) -> SourceThread:
        ref = attr(elem, "id")
        if not ref:
            raise ImportFailed(f"{self._xml.path.name}: a <thread> without dsq:id")
        return SourceThread(
            ref=ref,
            url=child_text(elem, "link"),
            identifier=child_text(elem, "id"),
            title=child_text(elem, "title"),
            created_at=self._date(elem, "thread", ref),
            locked=flag(child_text(elem, "isClosed")),
            deleted=flag(child_text(elem, "isDeleted")),
            forum=child_text(elem, "forum"),
        )

    def _post(self, elem: ET.Element) -> SourceComment:
        ns, dsq_id = self._ns, self._id
        ref = elem.get(dsq_id) or attr(elem, "id")
        thread = elem.find(ns + "thread")
        thread_ref = (thread.get(dsq_id) or attr(thread, "id")) if thread is not None else None
        if not ref or not thread_ref:
            raise ImportFailed(
                f"{self._xml.path.name}: post #{self._posts} ({ref or 'no dsq:id'}) has no "
                "dsq:id or no <thread dsq:id> reference"
            )
        parent = elem.find(ns + "parent")
        author = elem.find(ns + "author")
        created = self._date(elem, "post", ref)
        if flag(elem.findtext(ns + "isDeleted")):
            status = CommentStatus.DELETED
        elif flag(elem.findtext(ns + "isSpam")):
            status = CommentStatus.REJECTED
        elif (approved := elem.findtext(ns + "isApproved")) is not None and not flag(approved):
            status = CommentStatus.PENDING
        else:
            status = CommentStatus.PUBLISHED
        return SourceComment(
            ref=ref,
            thread_ref=thread_ref,
            parent_ref=(parent.get(dsq_id) or attr(parent, "id")) if parent is not None else None,
            status=status,
            created_at=created or EPOCH,  # Disqus always has one; be lenient
            html=elem.findtext(ns + "message") or "",
            author_name=(author.findtext(ns + "name") or author.findtext(ns + "username"))
            if author is not None else None,
            author_email=author.findtext(ns + "email") if author is not None else None,
            ip=elem.findtext(ns + "ipAddress"),
        )

    def _date(self, elem: ET.Element, what: str, ref: str) -> datetime | None:
        raw = elem.findtext(self._ns + "createdAt")
        try:
            return parse_iso(raw)
        except ValueError as exc:
            raise ImportFailed(
                f"{self._xml.path.name}: {what} dsq:id={ref}: createdAt {raw!r} is not a date"
            ) from exc
