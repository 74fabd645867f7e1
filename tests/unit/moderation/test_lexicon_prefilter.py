"""The lexicon's one-regex short-cut (rules.lexicon_hits) never drops a hit of the full scan."""

from __future__ import annotations

import json
from pathlib import Path

from rejoinder.moderation import rules
from rejoinder.moderation.normalise import normalise_text

EXAMPLES = Path(__file__).resolve().parents[3] / "training/examples"


def _texts() -> list[str]:
    out = []
    for f in sorted(EXAMPLES.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(normalise_text(json.loads(line)["text"]))
    return out


def test_prefilter_gives_the_same_hits() -> None:
    texts = _texts()
    texts += ["called me a kike", "(((Goldberg)))", "who runs the media?", "kill all jews",
              "zio", "hot singles", "k y k e s", "nothing to see here", ""]
    with_hits = 0
    for t in texts:
        expected = rules._scan(t, ())
        assert rules.lexicon_hits(t) == expected, t
        with_hits += bool(expected)
    assert with_hits > 100  # the check covers many real hits, not only misses


def test_prefilter_keeps_the_allow_list() -> None:
    assert rules.lexicon_hits("the zio fans", ["zio"]) == []
    assert rules.lexicon_hits("the zio fans") == rules._scan("the zio fans", ())
    assert rules.lexicon_hits("the zio fans")
