"""The real pipeline on hand-written sentences (not from the seed threads or the datasets)."""

from __future__ import annotations

import io

import orjson
import pytest

from rejoinder.domain.moderation import Action, Label, ModerationPolicy
from rejoinder.moderation.cli import classify_stream
from rejoinder.moderation.pipeline import ModerationPipeline
from rejoinder.moderation.registry import load_classifier

POLICY = ModerationPolicy()

HATEFUL = [
    "The kikes run the banks and the media.",
    "Another war for the jew world order.",
    "Zionazis control Washington.",
    "Look who wrote it: (((Rosenberg))) again.",
    "Those Khazarian impostors stole the land.",
]

NEUTRAL = [
    "I am a Jewish woman.",
    "Israel's parliament voted today.",
    "The synagogue and the mosque held a joint food drive.",
    "I disagree with the Israeli government's policy on settlements.",
    "The air defence intercepted most of the missiles last night.",
    "Thanks for the summary, very useful.",
]


def _confusable(s: str) -> str:
    return s.translate(str.maketrans({"a": "а", "e": "е", "o": "о", "i": "і", "c": "с"}))


def _leet(s: str) -> str:
    return s.translate(str.maketrans({"e": "3", "i": "1", "o": "0", "a": "4"}))


def _spaced(s: str) -> str:
    return " ".join(" ".join(w) if w.lower().strip(".,:") in {"kikes", "zionazis", "jew"}
                    else w for w in s.split())


def _dotted(s: str) -> str:
    return " ".join(".".join(w) if w.lower().strip(".,:") in {"kikes", "zionazis", "jew"}
                    else w for w in s.split())


def _zero_width(s: str) -> str:
    return "\u200b".join(s)


def _repeat(s: str) -> str:
    return "".join(c * 4 if c in "aeiou" else c for c in s)


EVASIONS = [_confusable, _leet, _spaced, _dotted, _zero_width, _repeat]


@pytest.mark.parametrize("text", HATEFUL)
def test_hateful_is_held(pipeline: ModerationPipeline, text: str) -> None:
    decision = POLICY.decide(pipeline.score([text])[0])
    assert decision.action is Action.HOLD
    assert decision.reasons and decision.reasons[0].startswith("hate")


@pytest.mark.parametrize("evade", EVASIONS, ids=lambda f: f.__name__)
def test_evasions_stay_held(pipeline: ModerationPipeline, evade) -> None:
    texts = [evade(t) for t in HATEFUL]
    actions = [POLICY.decide(s).action for s in pipeline.score(texts)]
    assert actions == [Action.HOLD] * len(texts), list(zip(texts, actions, strict=True))


def test_neutral_mentions_publish(pipeline: ModerationPipeline) -> None:
    scores = pipeline.score(NEUTRAL)
    assert [POLICY.decide(s).action for s in scores] == [Action.PUBLISH] * len(NEUTRAL)


def test_scores_are_probabilities_for_every_label(pipeline: ModerationPipeline) -> None:
    for s in pipeline.score(["hello", "", "x" * 5000]):
        assert set(s.values) == set(Label)
        assert all(0.0 <= v <= 1.0 for v in s.values.values())


def test_threat_and_spam(pipeline: ModerationPipeline) -> None:
    threat, spam = pipeline.score(["I will kill you and your family.",
                                   "Casino bonus, buy now: http://a.x http://b.x http://c.x"])
    assert POLICY.decide(threat).action is Action.HOLD
    assert POLICY.decide(spam).action in (Action.HOLD, Action.REJECT)


def test_cascade_without_transformer_still_scores() -> None:
    p = ModerationPipeline(use_transformer=False)
    assert POLICY.decide(p.score(HATEFUL[:1])[0]).action is Action.HOLD


def test_registry_names() -> None:
    for name in ("null", "keywords", "linear"):
        assert load_classifier(name).score(["hi"])[0].get(Label.HATE) < 0.5


class Broken:
    name = "broken"
    version = "0"

    def score(self, texts):
        raise RuntimeError("model exploded")


def test_classify_fails_closed_on_a_raising_classifier() -> None:
    inp = io.StringIO('{"id": "a", "text": "hello"}\n{"id": "b", "text": "world"}\n')
    out, err = io.BytesIO(), io.StringIO()
    written, failed = classify_stream(Broken(), POLICY, inp, out, err)
    rows = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert (written, failed) == (2, 2)
    assert [r["action"] for r in rows] == ["hold", "hold"]
    assert "model exploded" in rows[0]["reasons"][0] and "scoring failed" in err.getvalue()


def test_classify_writes_one_line_per_input_and_holds_unreadable_ones() -> None:
    inp = io.StringIO('{"id": 1, "text": "fine"}\nnot json\n{"id": 2}\n[1]\n\n'
                      '{"text": "no id"}\n{"id": null, "text": "null id"}\n'
                      '{"id": {"a": 1}, "text": 5}\n{"id": "z", "text": "last"}\n')
    out, err = io.BytesIO(), io.StringIO()
    written, failed = classify_stream(load_classifier("keywords"), POLICY, inp, out, err,
                                      batch_size=3)
    rows = [orjson.loads(line) for line in out.getvalue().splitlines()]
    # Eight inputs (the blank line is none), eight answers, in order, ids exactly as given.
    assert (written, failed) == (8, 4)
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 6, 7, 8, 9]
    assert [r["id"] for r in rows] == [1, None, 2, None, None, None, {"a": 1}, "z"]
    assert [r["action"] for r in rows] == ["publish", "hold", "hold", "hold",
                                           "publish", "publish", "hold", "publish"]
    bad = [r for r in rows if r.get("error")]
    assert [r["line"] for r in bad] == [2, 3, 4, 8]
    assert all(r["error"] == "invalid_input" and r["scores"] == {} and r["reasons"]
               for r in bad)
    assert "line 2 not scored (held)" in err.getvalue()
