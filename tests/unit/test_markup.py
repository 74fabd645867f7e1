"""The Markdown subset and the sanitiser: what comments may contain, and what they never do."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.markup import ALLOWED_TAGS, render_comment_html, sanitize_html


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = Tags()
    p.feed(html)
    return p.tags


@pytest.mark.parametrize(
    ("md", "html"),
    [
        ("*em* and **strong**", "<p><em>em</em> and <strong>strong</strong></p>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("`code`", "<p><code>code</code></p>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("# not a heading", "<p># not a heading</p>"),
        ("see https://example.org/x",
         '<p>see <a href="https://example.org/x" rel="nofollow ugc noopener">'
         "https://example.org/x</a></p>"),
        ("![cat](https://example.org/cat.png)",
         '<p><a href="https://example.org/cat.png" rel="nofollow ugc noopener">cat</a></p>'),
    ],
)
def test_markdown_subset(md: str, html: str) -> None:
    assert render_comment_html(md) == html


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
        "<a href=\"javascript:alert(1)\">x</a>",
        "![x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)>",
        "[a](https://x.org \"title\" onmouseover=alert(1))",
        "<iframe src=//evil>",
        "<style>*{display:none}</style>",
    ],
)
def test_no_active_content(payload: str) -> None:
    for tag, attrs in tags(render_comment_html(payload)):
        assert tag in ALLOWED_TAGS
        assert not any(k.startswith("on") for k in attrs)
        href = (attrs.get("href") or "").lower()
        assert href == "" or href.startswith(("http://", "https://", "mailto:"))


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("<>\"'=/ :ajvscriptonerlod()[]!*_`h#\n&;x")),
               max_size=80))
def test_fuzzed_markdown_never_yields_unsafe_html(text: str) -> None:
    html = render_comment_html(text)
    for tag, attrs in tags(html):
        assert tag in ALLOWED_TAGS
        assert all(k in ("href", "title", "rel", "start") for k in attrs)
        if tag == "a":
            assert attrs.get("rel") == "nofollow ugc noopener"


def test_sanitize_imported_html() -> None:
    html = sanitize_html('<p onclick="x()">Hi <a href="http://a.org" target=_blank>a</a>'
                         "<script>bad()</script></p>")
    assert html == '<p>Hi <a href="http://a.org" rel="nofollow ugc noopener">a</a></p>'


def test_sanitising_is_idempotent_at_the_edges() -> None:
    # Found by atheris (tests/fuzz): a NUL then a BOM at the start made a second pass drop the BOM.
    for raw in ("\x00\ufeff\ufefe x", "\ufeff \ufeff <b>x</b>", " \ufeff\n<p>x</p> "):
        once = sanitize_html(raw)
        assert sanitize_html(once) == once
