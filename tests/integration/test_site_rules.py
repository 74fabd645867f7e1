"""Per-site rules at posting time with default settings: floods, duplicates, links from newcomers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import Clock, make_site, moderator_token
from tests.factories import post


def test_flood_duplicate_and_links(app_factory, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    tc: TestClient = app_factory()
    make_site(tc, "news", ["https://news.example.org"], settings={})
    statuses = []
    for i in range(6):
        statuses.append(post(tc, f"Point number {i} about the harbour budget")["status"])
    assert statuses[:5] == ["published"] * 5 and statuses[5] == "pending"  # a flood
    clock.advance(minutes=5)
    again = post(tc, "Point number 3 about the harbour budget")
    assert again["status"] == "pending"  # duplicate of a recent comment

    newcomer = TestClient(tc.app, client=("192.0.2.80", 1))
    links = post(newcomer, "See https://a.example and https://b.example")
    assert links["status"] == "pending"  # more than one link from a new author
    token = moderator_token(tc, "news")
    q = tc.get("/api/v1/moderation/queue", params={"site": "news"},
               headers={"Authorization": f"Bearer {token}"}).json()["items"]
    reasons = {item["id"]: " ".join(item["reasons"]) for item in q}
    assert "spam" in reasons[links["id"]]
    evidence = {e["text"] for item in q for e in item["evidence"]}
    assert any("link" in t for t in evidence) and "duplicate of a recent comment" in evidence
