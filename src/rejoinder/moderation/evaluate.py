"""Evaluate a classifier + policy on a labelled JSONL file (`rejoinder moderate eval`).

Each line: {"id", "text", "labels": ["hate", ...] or {"hate": 1, ...}, "expected": "hold"|...,
"group": "jewish"|...}. `labels` and `expected` are each optional. Without `expected`, the
expected action is "hold" when any label is positive, else "publish".

Reports precision, recall and F1 per label (label present <=> score >= the policy's hold
threshold), the expected-vs-predicted action confusion matrix, and the false-hold rate on
comments expected to be published, per identity group.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rejoinder.domain.moderation import Action, Label, ModerationPolicy, fail_closed
from rejoinder.services.ports import Classifier


@dataclass
class LabelledRow:
    id: str
    text: str
    labels: dict[Label, int] | None
    expected: Action
    group: str | None


@dataclass
class EvalReport:
    n: int = 0
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    false_hold: dict[str, dict[str, float]] = field(default_factory=dict)
    mistakes: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"n": self.n, "per_label": self.per_label, "confusion": self.confusion,
                "false_hold": self.false_hold}


def parse_row(obj: dict[str, object], i: int) -> LabelledRow:
    text = obj.get("text")
    if not isinstance(text, str):
        raise ValueError("missing 'text'")
    raw = obj.get("labels")
    labels: dict[Label, int] | None = None
    if isinstance(raw, list):
        names = {str(x) for x in raw}
        labels = {lab: int(lab.value in names) for lab in Label}
    elif isinstance(raw, dict):
        labels = {lab: int(bool(raw.get(lab.value, 0))) for lab in Label}
    exp = obj.get("expected")
    if isinstance(exp, str) and exp in Action.__members__.values():
        expected = Action(exp)
    else:
        expected = Action.HOLD if labels and any(labels.values()) else Action.PUBLISH
    group = obj.get("group")
    return LabelledRow(str(obj.get("id", i)), text, labels, expected,
                       str(group) if isinstance(group, str) else None)


def read_rows(lines: Iterable[str]) -> Iterator[LabelledRow]:
    for i, line in enumerate(lines, 1):
        if line.strip():
            yield parse_row(json.loads(line), i)


def evaluate(classifier: Classifier, rows: list[LabelledRow],
             policy: ModerationPolicy | None = None, batch_size: int = 256) -> EvalReport:
    policy = policy or ModerationPolicy()
    rep = EvalReport(n=len(rows))
    tp: Counter[Label] = Counter()
    fp: Counter[Label] = Counter()
    fn: Counter[Label] = Counter()
    conf: dict[str, Counter[str]] = defaultdict(Counter)
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        try:
            scores = classifier.score([r.text for r in batch])
            decisions = [policy.decide(s) for s in scores]
        except Exception as exc:  # fail closed, as in production
            scores = [None] * len(batch)  # type: ignore[list-item]
            decisions = [fail_closed(repr(exc))] * len(batch)
        for row, s, d in zip(batch, scores, decisions, strict=True):
            conf[row.expected.value][d.action.value] += 1
            if row.labels is not None and s is not None:
                for lab in Label:
                    pred = s.get(lab) >= policy.hold.get(lab, 1.01)
                    gold = bool(row.labels[lab])
                    tp[lab] += pred and gold
                    fp[lab] += pred and not gold
                    fn[lab] += gold and not pred
            if row.expected is Action.PUBLISH and row.group:
                groups[row.group][0] += 1
                groups[row.group][1] += d.action is not Action.PUBLISH
            if d.action.value != row.expected.value and len(rep.mistakes) < 200:
                rep.mistakes.append({"id": row.id, "expected": row.expected.value,
                                     "got": d.action.value, "reasons": list(d.reasons)})
    for lab in Label:
        p = tp[lab] / (tp[lab] + fp[lab]) if tp[lab] + fp[lab] else 0.0
        r = tp[lab] / (tp[lab] + fn[lab]) if tp[lab] + fn[lab] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        rep.per_label[lab.value] = {"precision": p, "recall": r, "f1": f,
                                    "support": tp[lab] + fn[lab]}
    rep.confusion = {k: dict(v) for k, v in conf.items()}
    rep.false_hold = {g: {"n": n, "held": h, "rate": h / n if n else 0.0}
                      for g, (n, h) in sorted(groups.items())}
    return rep


def render(rep: EvalReport) -> str:
    lines = [f"{rep.n} comments", "", f"{'label':<8} {'prec':>6} {'recall':>6} {'F1':>6} "
             f"{'support':>8}"]
    for lab, m in rep.per_label.items():
        lines.append(f"{lab:<8} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
                     f"{int(m['support']):8d}")
    acts = [a.value for a in Action]
    lines += ["", "expected \\ got " + " ".join(f"{a:>8}" for a in acts)]
    for e in acts:
        row = rep.confusion.get(e, {})
        lines.append(f"{e:<15}" + " ".join(f"{row.get(a, 0):8d}" for a in acts))
    if rep.false_hold:
        lines += ["", f"{'group':<12} {'neutral':>8} {'held':>6} {'rate':>7}"]
        for g, m in rep.false_hold.items():
            lines.append(f"{g:<12} {int(m['n']):8d} {int(m['held']):6d} {m['rate']:7.3%}")
    return "\n".join(lines)
