"""`fastpath.same_origin`: a post from a page of this server itself is not a cross-site post."""

from __future__ import annotations

import pytest

from rejoinder.web.fastpath import same_origin


@pytest.mark.parametrize(("origin", "host", "expected"), [
    ("http://127.0.0.1:8123", "127.0.0.1:8123", True),
    ("https://Comments.Example.org", "comments.example.org", True),
    ("http://[::1]:8000", "[::1]:8000", True),
    ("http://127.0.0.1:8123", "127.0.0.1:8000", False),  # another port is another origin
    ("http://comments.example.org.evil.example", "comments.example.org", False),
    ("http://evil.example/comments.example.org", "comments.example.org", False),
    ("null", "comments.example.org", False),
    (None, "comments.example.org", False),
    ("http://comments.example.org", None, False),
    ("", "", False),
])
def test_same_origin(origin: str | None, host: str | None, expected: bool) -> None:
    assert same_origin(origin, host) is expected
