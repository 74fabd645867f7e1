"""The oracle of the markup fuzzer (tests/fuzz/fuzz_markup.py): what safe comment HTML is.

Kept apart from the atheris harness so that pytest can prove, without atheris, that the oracle
does reject unsafe HTML (a fuzzer whose checks cannot fail finds nothing, and says so proudly).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rejoinder.markup import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, sanitize_html

IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200d\ufeff]")
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)


class Checker(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source

    def fail(self, why: str) -> None:
        raise AssertionError(f"{why}\ninput: {self.source!r}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.fail(f"tag <{tag}> outside the allow-list")
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        for name, value in attrs:
            if name not in allowed:
                self.fail(f"attribute {name} on <{tag}>")
            if name == "href" and value is not None:
                bare = IGNORED_BY_BROWSERS.sub("", value)
                m = SCHEME.match(bare)
                if m and m.group(1).lower() not in URL_SCHEMES:
                    self.fail(f"link scheme {m.group(1)!r} in {value!r}")

    handle_startendtag = handle_starttag

    def handle_comment(self, data: str) -> None:
        self.fail("an HTML comment survived")

    def handle_decl(self, decl: str) -> None:
        self.fail(f"a declaration survived: {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.fail(f"a processing instruction survived: {data!r}")


def check(source: str, html: str) -> None:
    """Raise AssertionError unless `html` (made from `source`) is safe and stable."""
    checker = Checker(source)
    checker.feed(html)
    checker.close()
    again = sanitize_html(html)
    if again != html:
        raise AssertionError(f"not stable under sanitising\ninput: {source!r}\n"
                             f"once:  {html!r}\ntwice: {again!r}")
