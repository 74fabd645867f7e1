"""atheris on the Markdown renderer and the sanitiser (issue 6): a bounded run in `make test`,
a long one in `make fuzz` (FUZZ_MARKUP_SECONDS). The harness is tests/fuzz/fuzz_markup.py."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import IN_CI, REPO
from tests.fuzz.markup_oracle import check

from rejoinder.markup import render_comment_html, sanitize_html

UNSAFE = [
    '<script>alert(1)</script>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" data:text/html,x">x</a>',
    '<p onclick="x()">x</p>',
    '<p style="x">x</p>',
    '<img src="x">',
    '<!-- x -->',
    '<em>x</em><strong>',  # not stable: sanitising adds the missing end tag
]


@pytest.mark.parametrize("html", UNSAFE)
def test_the_oracle_rejects_unsafe_html(html: str) -> None:
    with pytest.raises(AssertionError):
        check("seed", html)


def test_the_oracle_accepts_what_we_render() -> None:
    text = "**bold** [link](https://example.org) `code`\n\n> quote\n\n1. one\n2. two"
    check(text, render_comment_html(text))
    check(text, sanitize_html('<p>fine <a href="/relative">link</a></p>'))


def test_atheris_finds_nothing(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        if IN_CI:
            pytest.fail("atheris is in the [test] extra; under CI it must be installed")
        pytest.skip("atheris not installed (Linux, Python < 3.13)")
    seconds = os.environ.get("FUZZ_MARKUP_SECONDS")
    limit = f"-max_total_time={seconds}" if seconds else "-runs=20000"
    done = subprocess.run([sys.executable, str(REPO / "tests/fuzz/fuzz_markup.py"), limit,
                           "-max_len=4096", "-print_final_stats=1",
                           f"-artifact_prefix={tmp_path}/"],
                          capture_output=True, text=True, timeout=(int(seconds or 0) + 600))
    at = max(done.stderr.find("Uncaught Python exception"), done.stderr.find("Traceback"))
    tail = done.stderr[at:at + 3000] if at >= 0 else done.stderr[-3000:]
    assert done.returncode == 0, tail
    runs = re.search(r"Done (\d+) runs in (\d+) second", done.stderr)
    assert runs, tail
    print(f"\natheris: {runs.group(1)} inputs in {runs.group(2)} s, no finding")
