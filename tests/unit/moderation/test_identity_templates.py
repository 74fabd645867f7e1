"""False holds on neutral identity sentences (training/examples/identity_neutral.jsonl, never
trained on). Target: at most 1% (met: 2/265 since ADR 0019 scores one comment per transformer
run, 1/265 in the batched evaluation before; see docs/moderation.md)."""

from __future__ import annotations

from pathlib import Path

from rejoinder.moderation.evaluate import evaluate, read_rows
from rejoinder.moderation.pipeline import ModerationPipeline

FILE = Path(__file__).resolve().parents[3] / "training/examples/identity_neutral.jsonl"


def test_identity_false_hold_rate(pipeline: ModerationPipeline) -> None:
    rows = list(read_rows(FILE.read_text(encoding="utf-8").splitlines()))
    assert len(rows) > 200
    report = evaluate(pipeline, rows)
    held = sum(int(m["held"]) for m in report.false_hold.values())
    assert held / len(rows) <= 0.01, report.false_hold
    assert all(m["rate"] <= 0.10 for m in report.false_hold.values()), report.false_hold
