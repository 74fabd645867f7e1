"""Posting without the framework (web/fastpath.py `LeanPosts`) answers exactly as the framework.

Two servers on two fresh databases get the same requests in the same order, one with the lean
path and one without it; every answer must match: status, body (ids and times too: same
sequence, same frozen clock; only the random edit token differs) and headers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from tests.conftest import TEST_SITE_SETTINGS, Clock

from rejoinder.app import create_app
from rejoinder.config import Settings
from rejoinder.moderation.backends.keywords import KeywordClassifier
from rejoinder.services.sites import create_site
from rejoinder.storage.engine import migrate

ORIGIN = "https://news.example.org"
Request = tuple[str, dict[str, str], bytes]


def _server(tmp_path: Path, name: str, lean: bool, clock: Clock, **settings: Any) -> TestClient:
    url = f"sqlite:///{tmp_path / name}.sqlite3"
    settings.setdefault("rate_limits", False)
    migrate(url)
    app = create_app(Settings(env="development", data_dir=tmp_path, database_url=url,
                              create_demo=False, public_url="http://testserver",
                              moderation_backend="keywords", **settings),
                     classifier=KeywordClassifier())
    app.state.services.now = clock  # type: ignore[attr-defined]
    if not lean:
        app.lean_posts = None  # type: ignore[attr-defined]
    else:
        assert app.lean_posts is not None  # type: ignore[attr-defined]
    tc = TestClient(app, client=("203.0.113.7", 40000), raise_server_exceptions=False)
    tc.__enter__()
    services = app.state.services  # type: ignore[attr-defined]
    create_site(services, "news", [ORIGIN], settings=TEST_SITE_SETTINGS)
    create_site(services, "members", [ORIGIN], settings={**TEST_SITE_SETTINGS,
                                                          "guest_posting": False})
    return tc


def _json(data: Any, **headers: str) -> Request:
    return "application/json", headers, orjson.dumps(data)


REQUESTS: list[Request] = [
    _json({"site": "news", "thread": "/a", "body": "First!", "author_name": "Ann"},
          origin=ORIGIN),
    _json({"site": "news", "thread": "/a", "body": "A reply", "parent_id": 1}),
    _json({"site": "news", "thread": "/a", "body": "Quoting", "quote": {"exact": "First"},
           "notify": "replies", "author_email": "ann@example.org"}),
    _json({"site": "news", "thread": "/a", "body": "Same key"}, **{"idempotency-key": "k1"}),
    _json({"site": "news", "thread": "/a", "body": "Same key"}, **{"idempotency-key": "k1"}),
    _json({"site": "news", "thread": "/a", "body": "From elsewhere"},
          origin="https://evil.example.com"),
    # A page of this server itself (Origin = Host, "testserver"), like /demo: same-origin.
    _json({"site": "news", "thread": "/a", "body": "From our own page"},
          origin="http://testserver"),
    _json({"site": "news", "thread": "/a", "body": "Host look-alike"},
          origin="http://testserver.evil.example"),
    _json({"site": "nosuch", "thread": "/a", "body": "Lost"}),
    _json({"site": "news", "thread": "/a", "body": "Orphan", "parent_id": 999}),
    _json({"site": "members", "thread": "/a", "body": "Guest here"}, origin=ORIGIN),
    _json({"site": "news", "thread": "/a", "body": "Expired"}, authorization="Bearer rs_gone"),
    _json({"site": "news", "thread": "/a", "body": "You idiot, kill yourself"}),
    _json({"site": "news", "thread": "/a", "body": ""}),  # fails validation: framework answers
    _json({"site": "news", "thread": "/a", "body": 5}),
    _json({"site": "news", "thread": "/a", "body": "x", "extra": 1}),
    _json(["not", "an", "object"]),
    ("application/json", {}, b"{not json"),
    ("text/plain", {}, b'{"site": "news", "thread": "/a", "body": "typed wrong"}'),
    ("application/json; charset=utf-8", {},
     b'{"site": "news", "thread": "/a", "body": "with a charset"}'),
    _json({"site": "news", "thread": "/a", "body": "y" * 70_000}),  # over the body limit
    _json({"site": "news", "thread": "/a", "body": "long key"}, **{"idempotency-key": "k" * 300}),
]


def _answers(tc: TestClient, requests: list[Request]) -> list[tuple[int, Any, dict[str, str]]]:
    out = []
    for ctype, headers, body in requests:
        r = tc.post("/api/v1/comments", content=body, headers={"content-type": ctype, **headers})
        try:
            data: Any = r.json()
        except ValueError:
            data = r.text
        if isinstance(data, dict) and "edit_token" in data:
            data["edit_token"] = "(random)"
        kept = {k: v for k, v in r.headers.items() if k not in ("date",)}
        out.append((r.status_code, data, kept))
    return out


def test_lean_posting_answers_as_the_framework(tmp_path: Path,
                                               clock: Clock) -> None:
    lean = _answers(_server(tmp_path, "lean", True, clock), REQUESTS)
    full = _answers(_server(tmp_path, "full", False, clock), REQUESTS)
    for i, (a, b) in enumerate(zip(lean, full, strict=True)):
        assert a == b, f"request {i}: {REQUESTS[i]!r}"
    statuses = [a[0] for a in lean]
    # The requests cover what they claim to: created, replayed, refused, invalid, too large.
    assert {201, 200, 403, 404, 422, 401, 400, 413} <= set(statuses), statuses


def test_lean_posting_is_rate_limited_as_the_framework(tmp_path: Path, clock: Clock) -> None:
    requests = [_json({"site": "news", "thread": "/r", "body": f"Post {i}"}) for i in range(8)]
    lean = _answers(_server(tmp_path, "lean", True, clock, rate_limits=True), requests)
    full = _answers(_server(tmp_path, "full", False, clock, rate_limits=True), requests)
    assert lean == full
    assert lean[-1][0] == 429 and "retry-after" in lean[-1][2]


@pytest.fixture
def counted() -> Callable[[], float]:
    from prometheus_client import REGISTRY

    def value() -> float:
        return REGISTRY.get_sample_value("rejoinder_http_requests_total", {
            "method": "POST", "route": "/api/v1/comments", "status": "201"}) or 0.0
    return value


def test_lean_posts_are_counted_in_the_request_metrics(tmp_path: Path, clock: Clock,
                                                      counted: Callable[[], float]) -> None:
    tc = _server(tmp_path, "lean", True, clock)
    before = counted()
    ctype, headers, body = REQUESTS[0]
    assert tc.post("/api/v1/comments", content=body,
                   headers={"content-type": ctype, **headers}).status_code == 201
    assert counted() == before + 1
