"""Moderation vocabulary: labels, scores, decisions and the pure policy that joins them.

Scores are not decisions: a classifier says *how likely* a comment is hateful, abusive, ...; the
site's `ModerationPolicy` says what to *do* about it. Keeping the two apart lets a publisher tune
thresholds without retraining, and lets us unit-test the whole decision table without a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Label(StrEnum):
    """The project's labelling scheme; every backend scores all of these in [0, 1]."""

    HATE = "hate"  # attacks on people for a protected identity (religion, ethnicity, ...)
    ABUSE = "abuse"  # insults and harassment not about identity
    THREAT = "threat"  # threats or incitement to violence
    SEXUAL = "sexual"  # sexual content or harassment
    SPAM = "spam"  # advertising, link farms, floods, duplicates


class Action(StrEnum):
    """What happens to a comment after scoring."""

    PUBLISH = "publish"
    HOLD = "hold"  # into the moderator queue
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Evidence:
    """A word or span of the comment that drove a label, shown to moderators."""

    label: Label
    text: str
    start: int = -1  # character offsets in the original text; -1 when unknown
    end: int = -1
    source: str = ""  # which component found it: "blocklist", "keywords", "linear", ...


@dataclass(frozen=True, slots=True)
class Scores:
    """One comment's label probabilities from one classifier, with the evidence behind them."""

    values: Mapping[Label, float]
    evidence: tuple[Evidence, ...] = ()

    def get(self, label: Label) -> float:
        return float(self.values.get(label, 0.0))

    def as_dict(self) -> dict[str, float]:
        return {label.value: round(self.get(label), 4) for label in Label}

    @classmethod
    def clean(cls) -> Scores:
        return cls({label: 0.0 for label in Label})


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's verdict for one comment, with reasons a moderator can read."""

    action: Action
    reasons: tuple[str, ...] = ()


# Defaults: hold hate early (it is the reason this product exists), reject only when a model is
# very sure, publish ordinary argument. Abuse holds only when severe; spam holds rather than
# rejects because false positives on links are common.
DEFAULT_HOLD: dict[Label, float] = {
    Label.HATE: 0.5,
    Label.ABUSE: 0.8,
    Label.THREAT: 0.5,
    Label.SEXUAL: 0.7,
    Label.SPAM: 0.7,
}
DEFAULT_REJECT: dict[Label, float] = {
    Label.HATE: 1.01,  # >1 means "never auto-reject": a human looks at every hate hold
    Label.ABUSE: 1.01,
    Label.THREAT: 1.01,
    Label.SEXUAL: 1.01,
    Label.SPAM: 0.98,
}


@dataclass(frozen=True, slots=True)
class ModerationPolicy:
    """Per-site thresholds: a label at or above `hold[label]` holds, at or above `reject` rejects."""

    hold: Mapping[Label, float] = field(default_factory=lambda: dict(DEFAULT_HOLD))
    reject: Mapping[Label, float] = field(default_factory=lambda: dict(DEFAULT_REJECT))
    premoderate_all: bool = False

    @classmethod
    def from_settings(cls, data: Mapping[str, object] | None) -> ModerationPolicy:
        """Build from a site's stored settings (`{"hold": {...}, "reject": {...}}`), ignoring junk."""
        data = data or {}
        hold = dict(DEFAULT_HOLD)
        reject = dict(DEFAULT_REJECT)
        for target, key in ((hold, "hold"), (reject, "reject")):
            raw = data.get(key)
            if isinstance(raw, Mapping):
                for name, value in raw.items():
                    if name in Label.__members__.values() and isinstance(value, int | float):
                        target[Label(name)] = float(value)
        return cls(hold=hold, reject=reject, premoderate_all=bool(data.get("premoderate_all")))

    def decide(self, scores: Scores) -> Decision:
        """Turn scores into publish / hold / reject; the strictest label wins."""
        rejected: list[str] = []
        held: list[str] = []
        for label in Label:
            p = scores.get(label)
            if p >= self.reject.get(label, 1.01):
                rejected.append(_reason(label, p, scores.evidence))
            elif p >= self.hold.get(label, 1.01):
                held.append(_reason(label, p, scores.evidence))
        if rejected:
            return Decision(Action.REJECT, tuple(rejected + held))
        if held:
            return Decision(Action.HOLD, tuple(held))
        if self.premoderate_all:
            return Decision(Action.HOLD, ("site pre-moderates every comment",))
        return Decision(Action.PUBLISH, ())


def _reason(label: Label, p: float, evidence: Sequence[Evidence]) -> str:
    words = sorted({e.text for e in evidence if e.label is label and e.text})
    because = f" ({', '.join(repr(w) for w in words[:5])})" if words else ""
    return f"{label.value} {p:.2f}{because}"


def fail_closed(error: str) -> Decision:
    """The decision when scoring failed: hold for a human (ADR 0004)."""
    return Decision(Action.HOLD, (f"scoring failed: {error}",))
