"""Pure parts of the Perspective-compatible API: calibration, language detection, parsing."""

from __future__ import annotations

import pytest

from rejoinder.domain.moderation import DEFAULT_HOLD, Label, Scores
from rejoinder.perspective.attributes import Attribute, attribute_scores, to_perspective
from rejoinder.perspective.language import detect, normalise_code
from rejoinder.perspective.wire import PerspectiveError, parse_analyze, parse_suggest, verdict


@pytest.mark.parametrize("hold", sorted(set(DEFAULT_HOLD.values())))
def test_knots_put_coral_and_comentario_lines_where_documented(hold: float) -> None:
    assert to_perspective(0.0, hold) == 0.0
    assert to_perspective(hold, hold) == pytest.approx(0.8)  # Coral: our own hold line
    assert to_perspective(0.6 * hold, hold) == pytest.approx(0.5)  # Comentario's 0.5
    assert to_perspective(1.0, hold) == pytest.approx(1.0)
    grid = [i / 200 for i in range(201)]
    values = [to_perspective(p, hold) for p in grid]
    assert values == sorted(values) and all(0 <= v <= 1 for v in values)


def _scores(**values: float) -> Scores:
    return Scores({lab: values.get(lab.value, 0.0) for lab in Label})


def test_toxicity_crosses_coral_line_exactly_when_our_policy_holds() -> None:
    for label in (Label.HATE, Label.ABUSE, Label.THREAT, Label.SEXUAL):
        hold = DEFAULT_HOLD[label]
        below = attribute_scores(_scores(**{label.value: hold - 0.01}), "")
        above = attribute_scores(_scores(**{label.value: hold + 0.01}), "")
        assert below.get(Attribute.TOXICITY) < 0.8 < above.get(Attribute.TOXICITY)
    spam = attribute_scores(_scores(spam=0.99), "")
    assert spam.get(Attribute.TOXICITY) == 0 and spam.get(Attribute.SPAM) > 0.8
    hate = attribute_scores(_scores(hate=0.6), "")
    assert hate.get(Attribute.IDENTITY_ATTACK) > 0.8 > hate.get(Attribute.INSULT)
    assert hate.get(Attribute.SEVERE_TOXICITY) < hate.get(Attribute.TOXICITY)


def test_profanity_is_about_words() -> None:
    assert attribute_scores(_scores(), "what a load of shit").get(Attribute.PROFANITY) == 0.9
    assert attribute_scores(_scores(), "damn, late again").get(Attribute.PROFANITY) < 0.5
    assert attribute_scores(_scores(abuse=0.9), "you idiot").get(Attribute.PROFANITY) < 0.5


@pytest.mark.parametrize(("text", "lang"), [
    ("The council voted to close the library on Sundays.", "en"),
    ("ok", "en"), ("🙇", "en"), ("Macron", "en"),
    ("Le conseil a voté pour la fermeture de la bibliothèque et ce n'est pas une surprise.", "fr"),
    ("El ayuntamiento votó por el cierre de la biblioteca y no es una sorpresa para los vecinos.",
     "es"),
    ("Der Rat hat für die Schließung der Bibliothek gestimmt, und das ist nicht überraschend.",
     "de"),
    ("Совет проголосовал за закрытие библиотеки", "ru"),
])
def test_language_detection(text: str, lang: str) -> None:
    assert detect(text) == lang


def test_language_codes_are_normalised() -> None:
    assert [normalise_code(c) for c in ("EN", "en-US", "pt_BR", " fr ")] == ["en", "en", "pt", "fr"]


def test_parsing_refuses_bad_input_with_400() -> None:
    ok = parse_analyze({"comment": {"text": "hi", "type": "HTML"},
                        "requestedAttributes": {"TOXICITY": None}, "languages": ["EN"]})
    assert ok.languages == ("en",) and ok.attributes[0].attribute is Attribute.TOXICITY
    for bad in ({"comment": {"text": "hi"}, "requestedAttributes": {"toxicity": {}}},
                {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {},
                                                                    "INSULT": {"scoreType": "X"}}},
                {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}},
                 "languages": "en"},
                {"comment": {"text": None}, "requestedAttributes": {"TOXICITY": {}}}):
        with pytest.raises(PerspectiveError) as err:
            parse_analyze(bad)
        assert err.value.code == 400 and err.value.body()["error"]["status"] == "INVALID_ARGUMENT"
    with pytest.raises(PerspectiveError):
        parse_suggest({"comment": {"text": "hi"}, "attributeScores": {"bad name": {}}})


def test_feedback_verdicts() -> None:
    assert verdict({"DELETED": 1}) == 1 and verdict({"APPROVED": 1}) == 0
    assert verdict({"TOXICITY": 1.0}) == 1 and verdict({"TOXICITY": 0}) == 0
    assert verdict({"INSULT": 1}) is None
