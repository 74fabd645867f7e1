"""The `keywords` backend: a deterministic, offline word-list baseline (placeholder list)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rejoinder.domain.moderation import Evidence, Label, Scores

_TERMS: dict[Label, tuple[str, ...]] = {
    Label.HATE: ("kike", "jew world order", "zionazi", "khazarian"),
    Label.ABUSE: ("idiot", "moron"),
    Label.THREAT: ("i will kill you",),
    Label.SEXUAL: (),
    Label.SPAM: ("buy now", "casino bonus"),
}


class KeywordClassifier:
    name = "keywords"
    version = "0"

    def __init__(self) -> None:
        self._patterns = {
            label: [re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE) for t in terms]
            for label, terms in _TERMS.items()
        }

    def score(self, texts: Sequence[str]) -> list[Scores]:
        out = []
        for text in texts:
            values = {label: 0.0 for label in Label}
            evidence = []
            for label, patterns in self._patterns.items():
                for pattern in patterns:
                    for m in pattern.finditer(text):
                        values[label] = 0.95
                        evidence.append(Evidence(label, m.group(0), m.start(), m.end(), "keywords"))
            out.append(Scores(values, tuple(evidence)))
        return out
