"""`rejoinder.moderation.cli classify` end to end, as a real process, on a few lines."""

from __future__ import annotations

import json
import subprocess
import sys


def test_classify_subprocess() -> None:
    lines = [
        {"id": "n1", "text": "I am a Jewish woman and I love this city."},
        {"id": "h1", "text": "The j3w w0rld 0rder owns the press."},
        {"id": 7, "text": "Great article, thanks."},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines[:2]) + "\n{broken\n" + json.dumps(lines[2])
    proc = subprocess.run(
        [sys.executable, "-m", "rejoinder.moderation.cli", "classify"],
        input=stdin, capture_output=True, text=True, timeout=120, check=True,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    # One line per input: the broken one is held, with its reason, not dropped.
    assert [o["id"] for o in out] == ["n1", "h1", None, 7]
    assert [o["action"] for o in out] == ["publish", "hold", "hold", "publish"]
    assert set(out[0]["scores"]) == {"hate", "abuse", "threat", "sexual", "spam"}
    assert any("world order" in r for r in out[1]["reasons"])
    assert out[2]["error"] == "invalid_input" and out[2]["line"] == 3
    assert "line 3 not scored" in proc.stderr
