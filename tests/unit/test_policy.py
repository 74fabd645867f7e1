"""The moderation policy over its whole table: scores in, decision out, no model needed."""

from __future__ import annotations

import pytest

from rejoinder.domain.moderation import (
    Action,
    Evidence,
    Label,
    ModerationPolicy,
    Scores,
    fail_closed,
)


def scores(**values: float) -> Scores:
    return Scores({Label(k): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("values", "action"),
    [
        ({}, Action.PUBLISH),
        ({"hate": 0.49}, Action.PUBLISH),
        ({"hate": 0.5}, Action.HOLD),
        ({"hate": 0.99}, Action.HOLD),  # hate is never auto-rejected by default
        ({"abuse": 0.79}, Action.PUBLISH),  # ordinary rudeness is published
        ({"abuse": 0.8}, Action.HOLD),
        ({"threat": 0.6}, Action.HOLD),
        ({"sexual": 0.7}, Action.HOLD),
        ({"spam": 0.7}, Action.HOLD),
        ({"spam": 0.99}, Action.REJECT),
        ({"spam": 0.99, "hate": 0.9}, Action.REJECT),
    ],
)
def test_default_policy(values: dict[str, float], action: Action) -> None:
    assert ModerationPolicy().decide(scores(**values)).action is action


def test_reasons_name_labels_and_words() -> None:
    s = Scores({Label.HATE: 0.93}, (Evidence(Label.HATE, "zio", 0, 3, "keywords"),))
    d = ModerationPolicy().decide(s)
    assert d.reasons == ("hate 0.93 ('zio')",)


def test_site_thresholds_from_settings() -> None:
    policy = ModerationPolicy.from_settings(
        {"hold": {"abuse": 0.3, "bogus": 0.1, "hate": "high"}, "reject": {"hate": 0.95}}
    )
    assert policy.decide(scores(abuse=0.35)).action is Action.HOLD
    assert policy.decide(scores(hate=0.96)).action is Action.REJECT
    assert policy.decide(scores(hate=0.6)).action is Action.HOLD  # "high" ignored: default kept


def test_premoderation_holds_clean_comments() -> None:
    policy = ModerationPolicy.from_settings({"premoderate_all": True})
    assert policy.decide(Scores.clean()).action is Action.HOLD


def test_fail_closed() -> None:
    d = fail_closed("timed out")
    assert d.action is Action.HOLD and d.reasons == ("scoring failed: timed out",)
