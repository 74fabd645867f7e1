"""Coverage-guided fuzzing (atheris / libFuzzer) of the Markdown renderer and the HTML sanitiser.

Every input is fed both as a reader's Markdown (`render_comment_html`) and as HTML from an old
system (`sanitize_html`, what importers use). The output must:
- parse to tags of the allow-list only, with allowed attributes only (no `on*`, no `style`);
- carry no link whose scheme, after entity decoding and stripping the characters browsers ignore,
  is anything but http, https or mailto (relative links are allowed);
- be stable: sanitising it again changes nothing (so stored HTML means what we checked).
Any exception other than these checks failing is a crash too.

    python tests/fuzz/fuzz_markup.py -runs=20000          # what CI does (tests/fuzz/test_markup_fuzz.py)
    python tests/fuzz/fuzz_markup.py -max_total_time=600  # make fuzz
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from rejoinder.markup import render_comment_html, sanitize_html

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests/
from tests.fuzz.markup_oracle import check


def one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(4096)
    check(text, render_comment_html(text))
    check(text, sanitize_html(text))


# Seeds: the shapes attacks take, so the fuzzer starts near the interesting paths.
SEEDS = [
    b"[x](javascript:alert(1))", b"![a](http://e.x/i.png)", b"<script>alert(1)</script>",
    b"<a href='jav&#x09;ascript:1'>x</a>", b"<img src=x onerror=alert(1)>",
    b"<svg><a xlink:href='javascript:1'>", b"`<b>` **bold** _i_ ~~s~~ > quote\n\n1. a\n2. b",
    b"<math><mi xlink:href='data:x'>", b"<!--><script>1</script>-->", b"http://a.b/?q=<x>",
]


def main() -> None:
    import os
    import tempfile

    corpus = tempfile.mkdtemp(prefix="fuzz-markup-")
    for i, seed in enumerate(SEEDS):
        with open(os.path.join(corpus, f"seed{i}"), "wb") as f:
            f.write(seed)
    atheris.Setup([*sys.argv, corpus], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
