"""The `keywords` backend: a deterministic, offline word-list baseline.

Normalises the text (defeating leetspeak, confusables, spacing, ...) and scores it with the
built-in lexicon of `rejoinder.moderation.rules`. No model: useful as a floor, in tests, and to
compare against (`rejoinder moderate eval`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rejoinder.domain.moderation import Evidence, Label, Scores
from rejoinder.moderation import rules
from rejoinder.moderation.normalise import normalise_text


class KeywordClassifier:
    name = "keywords"
    version = "2"

    def __init__(self, allow: Sequence[str] = ()) -> None:
        self._allow = tuple(allow)

    def score(self, texts: Sequence[str]) -> list[Scores]:
        out = []
        for text in texts:
            norm = normalise_text(text)
            hits = rules.lexicon_hits(norm, self._allow)
            values = {label: 0.0 for label in Label}
            evidence = []
            for h in hits:
                if h.label is not Label.SPAM:
                    values[h.label] = max(values[h.label], h.score)
                evidence.append(Evidence(h.label, h.text, source="keywords"))
            values[Label.SPAM] = rules.spam_score(text, hits)
            out.append(Scores(values, tuple(evidence)))
        return out
