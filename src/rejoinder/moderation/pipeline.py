"""The `default` moderation pipeline: normalise -> lexicon rules -> linear model -> transformer.

Cascade: the linear model (about 0.3 ms a comment) scores everything; the transformer (about 10 to
50 ms a comment on one CPU core) only scores comments where the linear model is not clear about
the *action* (see training/train_linear.py for how the band was fitted on validation data). For
those, the final probability is a calibrated blend of both models' logits. Lexicon hits then set
floors (a slur is a slur however the models feel), spam heuristics add link and contact lures,
and every score carries the evidence a moderator sees.

Scores only: `ModerationPolicy` decides. Errors propagate, so callers fail closed (ADR 0004).
Load once (about 0.5 s), then call `score()` from any number of threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from rejoinder.domain.moderation import DEFAULT_HOLD, Evidence, Label, Scores
from rejoinder.moderation import rules
from rejoinder.moderation.backends.linear import LinearModel
from rejoinder.moderation.backends.transformer import TransformerModel
from rejoinder.moderation.normalise import normalise

LABELS = tuple(Label)
_HOLDS = np.array([DEFAULT_HOLD[lab] for lab in LABELS], dtype=np.float32)
_CHUNK = 32  # comments per step of the rules and linear model in a batch


@dataclass
class CascadeStats:
    scored: int = 0
    routed: int = 0  # sent to the transformer


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return out


class ModerationPipeline:
    name = "default"

    def __init__(self, linear: LinearModel | None = None,
                 transformer: TransformerModel | None = None, *, cascade: bool = True,
                 use_transformer: bool = True) -> None:
        self.linear = linear or LinearModel()
        self.transformer = (transformer or TransformerModel()) if use_transformer else None
        cal = self.linear.calibration
        blend = cal["blend"]
        self._w_lin = np.array([blend[lab.value]["w_linear"] for lab in LABELS], np.float32)
        self._w_trf = np.array([blend[lab.value]["w_transformer"] for lab in LABELS], np.float32)
        self._b = np.array([blend[lab.value]["b"] for lab in LABELS], np.float32)
        self._lo = float(cal.get("cascade_lo", 0.0))
        self._hi = float(cal.get("cascade_hi", 1.0))
        self.cascade = cascade
        trf = self.transformer.version if self.transformer else "none"
        self.version = f"rules-2+linear-{self.linear.version}+{trf}"
        self.stats = CascadeStats()
        self._lock = threading.Lock()

    # -- the Classifier port ----------------------------------------------------------------
    def score(self, texts: Sequence[str], site_rules: rules.SiteRules | None = None
              ) -> list[Scores]:
        if not texts:
            return []
        allow = site_rules.allow if site_rules else ()
        n = len(texts)
        norms: list[str] = []
        hits: list[list[rules.RuleHit]] = []
        lin = np.empty((n, len(LABELS)), dtype=np.float32)
        probs = np.empty((n, len(LABELS)), dtype=np.float32)
        route = np.zeros(n, dtype=bool)  # stays False without a transformer
        out: list[Scores | None] = [None] * n
        with ExitStack() as stack:
            # Several comments: routed ones go to the transformer's workers chunk by chunk,
            # while this thread runs the rules and the linear model on the next chunk.
            stream = (stack.enter_context(self.transformer.stream())
                      if self.transformer is not None and n > 1 else None)
            for lo in range(0, n, _CHUNK):
                hi = min(n, lo + _CHUNK)
                chunk = [normalise(t).text for t in texts[lo:hi]]
                norms += chunk
                hits += [rules.lexicon_hits(c, allow) for c in chunk]
                lin[lo:hi] = self.linear.logits(chunk)
                probs[lo:hi] = self.linear.probabilities(lin[lo:hi])
                if self.transformer is not None:
                    route[lo:hi] = self._route(probs[lo:hi], hits[lo:hi])
                if stream is not None:
                    sent = [i for i in range(lo, hi) if route[i]]
                    stream.put(sent, [norms[i] for i in sent])
                for i in range(lo, hi):  # not routed: the scores are final already
                    if not route[i]:
                        out[i] = self._final(texts[i], norms[i], probs[i], hits[i], site_rules)
            idx = np.flatnonzero(route)
            if len(idx) and self.transformer is not None:
                if stream is not None:
                    done = stream.finish()
                    trf = np.stack([done[int(i)] for i in idx])
                else:
                    trf = self.transformer.logits([norms[i] for i in idx])
                probs[idx] = _sigmoid(self._w_lin * lin[idx] + self._w_trf * trf + self._b)
        with self._lock:
            self.stats.scored += n
            self.stats.routed += len(idx)
        return [s if s is not None else
                self._final(texts[i], norms[i], probs[i], hits[i], site_rules)
                for i, s in enumerate(out)]

    def _final(self, text: str, norm: str, p: np.ndarray, hits: list[rules.RuleHit],
               site_rules: rules.SiteRules | None) -> Scores:
        scores = self._combine(text, norm, p, hits)
        if site_rules is not None:
            scores = rules.apply_site_rules(scores, text, site_rules)
        return scores

    # -- internals ----------------------------------------------------------------------------
    def _route(self, probs: np.ndarray, hits: list[list[rules.RuleHit]]) -> np.ndarray:
        if not self.cascade:
            return np.ones(len(probs), dtype=bool)
        ratio = np.max(probs / _HOLDS, axis=1)
        top = np.max(np.where(probs >= _HOLDS, probs, 0.0), axis=1)
        clear = (ratio < self._lo) | (top >= self._hi)
        # A slur that is quoted or talked about: let the stronger model judge the context.
        mention = np.array([any(h.quoted for h in hs) for hs in hits], dtype=bool)
        routed: np.ndarray = ~clear | mention
        return routed

    def _combine(self, text: str, norm: str, p: np.ndarray,
                 hits: list[rules.RuleHit]) -> Scores:
        values = {lab: float(p[j]) for j, lab in enumerate(LABELS)}
        evidence: list[Evidence] = []
        lowered = text.casefold()
        for h in hits:
            if h.label is not Label.SPAM:
                values[h.label] = max(values[h.label], h.score)
            start = lowered.find(h.text)
            src = "lexicon (quoted/mentioned)" if h.quoted else "lexicon"
            evidence.append(Evidence(h.label, h.text, start, start + len(h.text) if start >= 0
                                     else -1, src))
        values[Label.SPAM] = max(values[Label.SPAM], rules.spam_score(text, hits))
        if rules.link_count(text) >= 2:
            evidence.append(Evidence(Label.SPAM, f"{rules.link_count(text)} links", source="rules"))
        for lab in LABELS:
            if values[lab] >= DEFAULT_HOLD[lab] and not any(e.label is lab for e in evidence):
                for w in self.linear.top_words(norm, lab):
                    m = re.search(rf"\b{re.escape(w)}\b", lowered)
                    evidence.append(Evidence(lab, w, m.start() if m else -1,
                                             m.end() if m else -1, "model"))
            values[lab] = float(min(max(values[lab], 0.0), 1.0))
        return Scores(values, tuple(evidence))
