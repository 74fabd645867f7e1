"""Our labels -> Perspective attributes, with the calibration that makes clients' thresholds work.

Pure functions, no I/O. Perspective clients hard-code thresholds written for Perspective's scores:
Coral holds a comment when TOXICITY > 0.80, Comentario when any attribute > its per-domain
threshold (0.5 is the usual setting). Our scores are calibrated probabilities with *per-label*
hold lines (`DEFAULT_HOLD`: hate 0.5, abuse 0.8, ...). So each label goes through a monotone,
piecewise-linear map with three knots (ADR 0011):

    p = 0              -> 0.0
    p = 0.6 x hold     -> 0.5   (Comentario's line: "worth a look", holds somewhat more)
    p = hold           -> 0.8   (Coral's line: exactly where Rejoinder's own policy holds)
    p = 1              -> 1.0

so a Coral newsroom gets the decisions Rejoinder's default policy makes (minus spam), and a
Comentario site at 0.5 gets a more cautious queue. The measured effect on held-out data is in
docs/perspective.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from rejoinder.domain.moderation import DEFAULT_HOLD, Label, Scores

COMENTARIO_KNOT = 0.6  # fraction of the hold line that maps to 0.5
LOW, HIGH = 0.5, 0.8


class Attribute(StrEnum):
    """The Perspective attributes we answer; any other name is refused as Perspective does."""

    TOXICITY = "TOXICITY"
    SEVERE_TOXICITY = "SEVERE_TOXICITY"
    IDENTITY_ATTACK = "IDENTITY_ATTACK"
    INSULT = "INSULT"
    PROFANITY = "PROFANITY"
    THREAT = "THREAT"
    SEXUALLY_EXPLICIT = "SEXUALLY_EXPLICIT"
    SPAM = "SPAM"


SUPPORTED_LANGUAGES = frozenset({"en"})  # our models are trained on English only


def to_perspective(p: float, hold: float) -> float:
    """Map one of our probabilities to Perspective's scale, given the label's hold line."""
    p = min(max(float(p), 0.0), 1.0)
    hold = min(max(hold, 1e-6), 1.0)
    knot = COMENTARIO_KNOT * hold
    if p <= knot:
        v = LOW * p / knot
    elif p <= hold:
        v = LOW + (HIGH - LOW) * (p - knot) / (hold - knot)
    else:
        v = HIGH + (1.0 - HIGH) * (p - hold) / (1.0 - hold) if hold < 1.0 else HIGH
    return round(min(max(v, 0.0), 1.0), 6)


# SEVERE_TOXICITY answers "very hateful or aggressive": the same labels with stricter lines.
SEVERE_HOLD: dict[Label, float] = {Label.HATE: 0.8, Label.THREAT: 0.8, Label.ABUSE: 0.95}

# PROFANITY is about words, not intent: strong swear words score high whatever the target.
# Matched on normalised text, so leetspeak and spacing tricks do not hide them.
_STRONG = re.compile(
    r"\b(?:fuck\w*|motherfuck\w*|shit\w*|bullshit|cunts?|twats?|dicks?|dickheads?|cocks?|"
    r"assholes?|arseholes?|bastards?|bitch\w*|wankers?|pricks?|piss(?:ed)?)\b"
)
_MILD = re.compile(r"\b(?:damn\w*|crap\w*|hell|bloody|arse|ass|sucks?)\b")


def profanity(normalised_text: str, abuse: float) -> float:
    """Profanity score: strong swear words 0.9, mild ones 0.35, else a share of abuse."""
    if _STRONG.search(normalised_text):
        return 0.9
    if _MILD.search(normalised_text):
        return 0.35
    return round(min(abuse * 0.45, 0.45), 6)


@dataclass(frozen=True, slots=True)
class AttributeScores:
    """One comment's scores on Perspective's scale, for every attribute we support."""

    values: Mapping[Attribute, float]

    def get(self, attribute: Attribute) -> float:
        return float(self.values[attribute])


def attribute_scores(scores: Scores, normalised_text: str) -> AttributeScores:
    """All Perspective attributes for one comment, from our label scores (module docstring)."""
    mapped = {lab: to_perspective(scores.get(lab), DEFAULT_HOLD[lab]) for lab in Label}
    severe = max(to_perspective(scores.get(lab), hold) for lab, hold in SEVERE_HOLD.items())
    values = {
        Attribute.IDENTITY_ATTACK: mapped[Label.HATE],
        Attribute.INSULT: mapped[Label.ABUSE],
        Attribute.THREAT: mapped[Label.THREAT],
        Attribute.SEXUALLY_EXPLICIT: mapped[Label.SEXUAL],
        Attribute.SPAM: mapped[Label.SPAM],
        Attribute.SEVERE_TOXICITY: severe,
        Attribute.PROFANITY: profanity(normalised_text, scores.get(Label.ABUSE)),
    }
    # TOXICITY > 0.8 exactly when our default policy would hold for a non-spam label.
    values[Attribute.TOXICITY] = max(
        mapped[Label.HATE], mapped[Label.ABUSE], mapped[Label.THREAT], mapped[Label.SEXUAL]
    )
    return AttributeScores(values)


# Which of our labels stand behind each attribute, for span annotations from `Evidence`.
ATTRIBUTE_LABELS: dict[Attribute, tuple[Label, ...]] = {
    Attribute.TOXICITY: (Label.HATE, Label.ABUSE, Label.THREAT, Label.SEXUAL),
    Attribute.SEVERE_TOXICITY: (Label.HATE, Label.ABUSE, Label.THREAT),
    Attribute.IDENTITY_ATTACK: (Label.HATE,),
    Attribute.INSULT: (Label.ABUSE,),
    Attribute.PROFANITY: (Label.ABUSE,),
    Attribute.THREAT: (Label.THREAT,),
    Attribute.SEXUALLY_EXPLICIT: (Label.SEXUAL,),
    Attribute.SPAM: (Label.SPAM,),
}


def parse_attribute(name: str) -> Attribute | None:
    """The attribute for a requested name (Perspective names are upper case), or None."""
    try:
        return Attribute(name)
    except ValueError:
        return None

