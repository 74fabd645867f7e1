"""The moderators' dashboard (issue 4): comments per day, held and rejected shares, decisions
by label and time-to-decision, computed from the comments and the audit log of one site."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from rejoinder.services.context import Services
from rejoinder.services.moderator import (
    UNDO,
    Moderator,
    ModeratorUnitOfWork,
    final_decisions,
)

# Time-to-decision buckets: (label, upper bound in seconds).
BUCKETS = (("< 5 min", 300), ("5-60 min", 3600), ("1-6 h", 6 * 3600), ("6-24 h", 86400),
           ("> 24 h", None))


@dataclass
class Dashboard:
    days: int
    per_day: list[tuple[date, int]]
    total: int
    verdicts: dict[str, int]  # the model's first verdict: publish / hold / reject
    statuses: dict[str, int]  # where the comments are now
    by_label: dict[str, dict[str, int]]  # label -> {"approved": n, "rejected": n}
    decision_times: list[float] = field(default_factory=list)  # seconds, sorted
    buckets: list[tuple[str, int]] = field(default_factory=list)

    def share(self, verdict: str) -> float:
        return self.verdicts.get(verdict, 0) / self.total if self.total else 0.0

    @property
    def median_s(self) -> float | None:
        return _quantile(self.decision_times, 0.5)

    @property
    def p90_s(self) -> float | None:
        return _quantile(self.decision_times, 0.9)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def dashboard(
    services: Services, uow: ModeratorUnitOfWork, mod: Moderator, days: int = 30
) -> Dashboard:
    """Numbers over the last `days` days (UTC), counted in Python so both databases agree."""
    today = services.now().date()
    first = today - timedelta(days=days - 1)
    since = services.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=days - 1)
    with uow.read() as store:
        stats = store.comment_stats(mod.site.id, since)
        rows = store.decisions(mod.site.id, since)
    counts = {first + timedelta(days=i): 0 for i in range(days)}
    verdicts: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for s in stats:
        day = s.created_at.date()
        if day in counts:
            counts[day] += 1
        verdicts[s.verdict_action or "unknown"] = verdicts.get(s.verdict_action or "unknown", 0) + 1
        statuses[s.status] = statuses.get(s.status, 0) + 1
    by_label: dict[str, dict[str, int]] = {}
    for row in final_decisions(rows).values():
        outcome = "approved" if row.audit.detail.get("to") == "published" else "rejected"
        for label in row.audit.detail.get("labels") or ["none"]:
            slot = by_label.setdefault(label, {"approved": 0, "rejected": 0})
            slot[outcome] += 1
    first_decision: dict[int, float] = {}
    for row in rows:
        cid = row.audit.comment_id
        if row.audit.action != UNDO and cid not in first_decision:
            first_decision[cid] = max(
                0.0, (row.audit.created_at - row.comment_created_at).total_seconds())
    times = sorted(first_decision.values())
    return Dashboard(
        days=days, per_day=sorted(counts.items()), total=len(stats), verdicts=verdicts,
        statuses=statuses, by_label=dict(sorted(by_label.items())), decision_times=times,
        buckets=_bucket(times),
    )


def _bucket(times: list[float]) -> list[tuple[str, int]]:
    out = []
    lower = 0.0
    for name, upper in BUCKETS:
        n = sum(1 for t in times if t >= lower and (upper is None or t < upper))
        out.append((name, n))
        lower = float(upper or 0)
    return out
