"""Turning a comment's Markdown into HTML that is safe to show anywhere.

Security-sensitive: `render_comment_html` is the only function that produces comment HTML, and its
output always passes through nh3 (Ammonia) with an allow-list, whatever the Markdown parser did.
"""

from __future__ import annotations

from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = {
    "p", "br", "em", "strong", "del", "s", "a", "blockquote", "code", "pre", "ul", "ol", "li",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"


def _build_parser() -> MarkdownIt:
    # Commonmark without raw HTML: users write Markdown, never tags. Headings, tables and
    # images are not part of the comment subset; images are turned into plain links below.
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["linkify", "strikethrough"])
    md.disable(["heading", "lheading", "hr", "html_block", "html_inline"])
    md.add_render_rule("image", _image_as_link)
    return md


def _image_as_link(
    self: Any, tokens: list[Token], idx: int, options: Any, env: Any
) -> str:
    """Show an image as a link to it: comments never load third-party images into the page."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    escaped_src = nh3.clean_text(src)
    return f'<a href="{escaped_src}">{nh3.clean_text(alt)}</a>'


_MD = _build_parser()


def render_comment_html(markdown: str) -> str:
    """Render untrusted Markdown to sanitised HTML; every link gets rel="nofollow ugc noopener"."""
    raw = _MD.render(markdown)
    return sanitize_html(raw)


# Built once: constructing the Ammonia cleaner costs more than cleaning a typical comment.
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel=LINK_REL,
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Sanitise HTML from any source (our renderer, or an importer) with the comment allow-list.

    Idempotent: sanitising the output again changes nothing (what we store is what we checked, and
    an export/import round trip is lossless). The HTML parser drops a byte-order mark at the start
    of its input, so one left at the start of the output (after a dropped NUL, say) is dropped here.
    """
    out = _CLEANER.clean(html)
    while True:  # whitespace and BOMs can alternate at the start: strip until nothing changes
        trimmed = out.strip().lstrip("\ufeff")
        if trimmed == out:
            return out
        out = trimmed
