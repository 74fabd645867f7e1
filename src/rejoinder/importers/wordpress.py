"""WordPress WXR export: `<item>` posts with `<wp:comment>` children.

Comments are handled as each `<wp:comment>` ends, so a post with 100,000 comments is never held in
memory. Parsed by lxml (`xmlstream.Ends`): only `<item>` and `<wp:comment>` elements reach Python.
`comment_approved`: 1 → published, 0 → pending, spam → rejected, trash → deleted.
Pingbacks and trackbacks are skipped. wpDiscuz votes (`wpdiscuz_votes`, and the like/dislike
split in `wpdiscuz_votes_seperate` when present) become the comment's vote counters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rejoinder.domain.comments import CommentStatus
from rejoinder.importers.records import (
    ImportFailed,
    Record,
    Skipped,
    SourceComment,
    SourceThread,
    parse_iso,
)
from rejoinder.importers.xmlstream import Ends, child_text, local

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUS = {
    "1": CommentStatus.PUBLISHED,
    "approve": CommentStatus.PUBLISHED,
    "0": CommentStatus.PENDING,
    "hold": CommentStatus.PENDING,
    "spam": CommentStatus.REJECTED,
    "trash": CommentStatus.DELETED,
    "post-trashed": CommentStatus.DELETED,
}
_BLOCK = re.compile(r"<(?:p|div|blockquote|ul|ol|pre|table)[\s>]", re.IGNORECASE)
_PHP_VOTE = re.compile(r's:\d+:"(like|dislike)";i:(-?\d+);')


class WordPressSource:
    system = "wordpress"

    def __init__(self, path: Path) -> None:
        self._xml = Ends(path)
        self.total: int | None = self._xml.total
        self._thread_emitted: Any = None
        self._comments = 0
        self._post_id = "?"

    @property
    def position(self) -> int:
        return self._xml.position

    def records(self) -> Iterator[Record]:
        depth = self._xml.depth
        for elem in self._xml.ends(("comment", "item")):
            if local(elem.tag) == "comment":
                if depth(elem) != 3:
                    continue
                item = elem.getparent()
                if self._thread_emitted is not item:
                    self._thread_emitted = item
                    thread = self._thread(item)
                    self._post_id = thread.ref
                    yield thread
                self._comments += 1
                yield self._comment(elem)
                self._xml.detach(elem)
            elif depth(elem) == 2:
                self._thread_emitted = None
                self._xml.detach(elem)  # a whole <item>, and channel metadata before it

    def _thread(self, item: Any) -> SourceThread:
        post_id = child_text(item, "post_id") or child_text(item, "link") or "?"
        return SourceThread(
            ref=post_id,
            url=child_text(item, "link") or child_text(item, "guid"),
            title=child_text(item, "title"),
            created_at=parse_iso(child_text(item, "post_date_gmt")),
            locked=(child_text(item, "comment_status") or "open").strip() == "closed",
        )

    def _comment(self, elem: Any) -> Record:
        fields = {local(c.tag): c.text or "" for c in elem if local(c.tag) != "commentmeta"}
        if fields.get("comment_type", "").strip() in ("pingback", "trackback"):
            return Skipped("pingback or trackback")
        post_id = self._post_id
        comment_id = fields.get("comment_id", "").strip()
        if not comment_id:
            raise ImportFailed(
                f"{self._xml.path.name}: comment #{self._comments} of post {post_id} has no "
                "<wp:comment_id>"
            )
        parent = fields.get("comment_parent", "0").strip()
        up, down = _votes(elem)
        try:
            created = parse_iso(fields.get("comment_date_gmt")) or parse_iso(
                fields.get("comment_date")
            )
        except ValueError as exc:
            raise ImportFailed(
                f"{self._xml.path.name}: comment {comment_id}: comment_date_gmt is not a date"
            ) from exc
        return SourceComment(
            ref=f"{post_id}:{comment_id}",
            thread_ref=post_id,
            parent_ref=f"{post_id}:{parent}" if parent not in ("", "0") else None,
            status=_STATUS.get(fields.get("comment_approved", "1").strip(),
                               CommentStatus.PENDING),
            created_at=created or EPOCH,
            html=autop(fields.get("comment_content", "")),
            author_name=fields.get("comment_author"),
            author_email=fields.get("comment_author_email"),
            ip=fields.get("comment_author_IP") or None,
            upvotes=up,
            downvotes=down,
        )


def autop(content: str) -> str:
    """WordPress stores comments with bare newlines and adds paragraphs on display (wpautop).

    Blank lines become paragraphs and single newlines line breaks, unless the comment already
    has block markup.
    """
    text = content.replace("\r\n", "\n").strip()
    if not text or _BLOCK.search(text):
        return text
    paragraphs = re.split(r"\n\s*\n", text)
    return "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _votes(comment: Any) -> tuple[int, int]:
    """wpDiscuz vote meta: (upvotes, downvotes)."""
    net: int | None = None
    split: dict[str, int] = {}
    for meta in comment:
        if local(meta.tag) != "commentmeta":
            continue
        key = (child_text(meta, "meta_key") or "").strip()
        value = (child_text(meta, "meta_value") or "").strip()
        if key == "wpdiscuz_votes":
            try:
                net = int(value)
            except ValueError:
                continue
        elif key == "wpdiscuz_votes_seperate":  # sic: wpDiscuz's spelling
            split = {m.group(1): abs(int(m.group(2))) for m in _PHP_VOTE.finditer(value)}
    if split:
        return split.get("like", 0), split.get("dislike", 0)
    if net is None:
        return 0, 0
    return max(net, 0), max(-net, 0)
