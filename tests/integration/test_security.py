"""Security over the whole surface (issue 6): every route is classified and refuses strangers,
every response carries the security headers, every state-changing form needs its CSRF token,
secrets are compared in constant time, and one flooding client is throttled while others post.

The route table below is exhaustive on purpose: a new route fails `test_every_route_is_classified`
until someone decides who may call it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.conftest import REPO, make_site
from tests.factories import post

from rejoinder.domain.sites import Role
from rejoinder.services.sites import create_token

PUBLIC = "public"  # anyone; reads and posting as a guest
AUTHOR = "author"  # the comment's edit token, its signed-in author, or a moderator
READER = "reader"  # a signed-in reader's session token
MODERATOR = "moderator"  # a moderator token of the comment's site (API)
SESSION = "session"  # the moderator pages' signed cookie (+ CSRF on POST)
LINK = "signed link"  # a token mailed to the reader: the token is the credential
LOGIN = "login"  # credentials in the body, CSRF (pages) or rate limit (API)
API_KEY = "api key"  # the Perspective-compatible API's ?key=
OPERATOR = "operator"  # /metrics: meant for the operator's network (see docs/deployment.md)

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/api/v1/comments"): PUBLIC,
    ("POST", "/api/v1/comments"): PUBLIC,
    ("PATCH", "/api/v1/comments/{comment_id}"): AUTHOR,
    ("DELETE", "/api/v1/comments/{comment_id}"): AUTHOR,
    ("POST", "/api/v1/comments/{comment_id}/votes"): PUBLIC,
    ("POST", "/api/v1/comments/{comment_id}/flags"): PUBLIC,
    ("GET", "/api/v1/counts"): PUBLIC,
    ("GET", "/api/v1/stream"): PUBLIC,
    ("GET", "/api/v1/moderation/queue"): MODERATOR,
    ("POST", "/api/v1/moderation/comments/{comment_id}"): MODERATOR,
    ("POST", "/api/v1/auth/register"): LOGIN,
    ("POST", "/api/v1/auth/login"): LOGIN,
    ("POST", "/api/v1/auth/sso"): LOGIN,
    ("POST", "/api/v1/auth/magic-link"): LOGIN,
    ("POST", "/api/v1/auth/magic-link/verify"): LINK,
    ("POST", "/api/v1/auth/logout"): PUBLIC,  # ends the bearer's session if any: a no-op else
    ("GET", "/api/v1/me"): READER,
    ("GET", "/api/v1/me/export"): READER,
    ("DELETE", "/api/v1/me"): READER,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): OPERATOR,
    ("GET", "/embed.js"): PUBLIC,
    ("GET", "/demo"): PUBLIC,
    ("GET", "/sites/{site}/threads"): PUBLIC,
    ("GET", "/subscriptions/confirm"): LINK,
    ("POST", "/subscriptions/confirm"): LINK,
    ("GET", "/subscriptions/unsubscribe"): LINK,
    ("POST", "/subscriptions/unsubscribe"): LINK,
    ("GET", "/moderation"): SESSION,
    ("GET", "/moderation/login"): LOGIN,
    ("POST", "/moderation/login"): LOGIN,
    ("POST", "/moderation/logout"): SESSION,
    ("GET", "/moderation/{site}"): SESSION,
    ("POST", "/moderation/{site}/decide"): SESSION,
    ("POST", "/moderation/{site}/undo"): SESSION,
    ("GET", "/moderation/{site}/decisions.jsonl"): SESSION,
    ("GET", "/moderation/{site}/settings"): SESSION,
    ("POST", "/moderation/{site}/settings"): SESSION,
    ("POST", "/moderation/{site}/threads"): SESSION,
    ("GET", "/moderation/{site}/dashboard"): SESSION,
    ("POST", "/v1alpha1/comments:analyze"): API_KEY,
    ("POST", "/v1alpha1/comments:suggestscore"): API_KEY,
}


def app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route, through included routers and mounts."""
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.16x: included routers
            for ctx in route.effective_route_contexts():
                for method in ctx.methods - {"HEAD"}:
                    yield method, ctx.path_format
        elif getattr(route, "methods", None):
            for method in set(route.methods) - {"HEAD"}:
                yield method, route.path
        elif hasattr(route, "routes"):
            yield from app_routes(route)
        else:
            assert route.path == "/static", f"unexpected mount {route.path}"


def _fill(path: str, comment_id: int) -> str:
    return path.replace("{comment_id}", str(comment_id)).replace("{site}", "news")


@pytest.fixture
def tc(app_factory: Callable[..., TestClient]) -> TestClient:
    c = app_factory()
    make_site(c, "news", ["https://news.example.org"])
    return c


def _state(tc: TestClient) -> list[Any]:
    """Everything a refused request could have changed."""
    db = tc.app.state.db  # type: ignore[attr-defined]
    with db.reader.connect() as conn:
        return [
            conn.execute(text("SELECT id, status, body_md, score FROM comments ORDER BY id")).all(),
            conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one(),
            conn.execute(text("SELECT settings FROM sites ORDER BY id")).all(),
            conn.execute(text("SELECT key, locked FROM threads ORDER BY id")).all(),
            conn.execute(text("SELECT count(*) FROM flags")).scalar_one(),
        ]


def test_every_route_is_classified(tc: TestClient) -> None:
    found = set(app_routes(tc.app))
    assert found - set(ROUTES) == set(), "classify these routes in ROUTES"
    assert set(ROUTES) - found == set(), "these routes are gone: update ROUTES"


def test_strangers_are_refused_everywhere_and_change_nothing(tc: TestClient) -> None:
    """No credentials at all (or a forged one) on every non-public route: a clear 4xx (or, for
    a page, a redirect to the sign-in form), and the database is exactly as before."""
    comment = post(tc, "A comment strangers would like to change")
    tc.post(f"/api/v1/comments/{comment['id']}/flags", json={"reason": "spam"})
    before = _state(tc)
    forged = {"Authorization": "Bearer forged-token", "Cookie": "rejoinder_mod=forged.forged"}
    refused: list[str] = []
    for (method, path), who in sorted(ROUTES.items()):
        if who in (PUBLIC, LOGIN):
            continue
        url = _fill(path, comment["id"])
        body: dict[str, Any] = {}
        if method in ("POST", "PATCH"):
            body = ({"data": {"csrf": "x", "token": "forged", "decide": f"approve:{comment['id']}"}}
                    if not url.startswith("/api/") and not url.startswith("/v1alpha1")
                    else {"json": {"body": "changed", "action": "approve", "token": "forged",
                                   "comment": {"text": "hi"}, "requestedAttributes": {}}})
        for headers in ({}, forged):
            r = tc.request(method, url, headers=headers, follow_redirects=False, **body)
            if who == OPERATOR:
                # /metrics is open on the server's own port by design (Prometheus scrapes it);
                # it must show no reader data. See docs/deployment.md for keeping it internal.
                assert r.status_code == 200 and "@" not in r.text
                continue
            ok = 400 <= r.status_code < 500 or (
                r.status_code == 303 and r.headers["location"].startswith("/moderation/login"))
            assert ok, f"{method} {url} ({who}) answered {r.status_code}"
            refused.append(f"{method} {path}")
    assert _state(tc) == before
    guarded = [r for r, who in ROUTES.items() if who not in (PUBLIC, LOGIN, OPERATOR)]
    assert len(refused) == 2 * len(guarded) >= 40


def test_security_headers_on_every_get_route(tc: TestClient) -> None:
    comment = post(tc, "headers")
    for (method, path), _ in sorted(ROUTES.items()):
        if method != "GET" or path == "/api/v1/stream":
            continue
        r = tc.get(_fill(path, comment["id"]), params={"site": "news", "thread": "/t"},
                   follow_redirects=False)
        h = r.headers
        assert h.get("x-content-type-options") == "nosniff", path
        assert h.get("referrer-policy") == "strict-origin-when-cross-origin", path
        csp = h.get("content-security-policy", "")
        if path in ("/api/docs",):
            assert "frame-ancestors 'none'" in csp, path  # Swagger UI needs its own script-src
            continue
        assert "frame-ancestors 'none'" in csp or "default-src 'none'" in csp, path
        if r.headers.get("content-type", "").startswith("text/html"):
            assert "script-src 'self'" in csp and "base-uri 'none'" in csp, path
            assert h.get("x-frame-options") == "DENY", path


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def test_every_state_changing_form_needs_its_csrf_token(tc: TestClient) -> None:
    held = post(tc, "Keep me waiting")
    # Sign in as an admin (who may use every form) through the real form.
    raw = create_token(tc.app.state.services, "news", Role.ADMIN)  # type: ignore[attr-defined]
    form = tc.get("/moderation/login")
    r = tc.post("/moderation/login", data={"token": raw, "csrf": _csrf(form.text)},
                follow_redirects=False)
    assert r.status_code == 303
    good = _csrf(tc.get("/moderation/news").text)
    before = _state(tc)
    forms = [(m, p) for (m, p), who in ROUTES.items() if who == SESSION and m == "POST"]
    assert len(forms) >= 5
    payload = {"decide": f"reject:{held['id']}", "thread": "/t", "locked": "1",
               "hold_hate": "0.99", "bulk": "reject", "ids": [str(held["id"])]}
    for method, path in forms:
        for csrf in (None, "", "0" * 64, good[:-1] + ("0" if good[-1] != "0" else "1")):
            data = {**payload, **({"csrf": csrf} if csrf is not None else {})}
            r = tc.request(method, _fill(path, held["id"]), data=data, follow_redirects=False)
            assert r.status_code == 403, f"{path} with csrf={csrf!r}: {r.status_code}"
    # Another site's form posted from a page of this one (cross-site request): the login form.
    r = tc.post("/moderation/login", data={"token": raw}, follow_redirects=False)
    assert r.status_code == 403
    assert _state(tc) == before
    # Still signed in (the forged logout did nothing), and the genuine token works.
    assert tc.get("/moderation/news", follow_redirects=False).status_code == 200
    r = tc.post("/moderation/news/decide", data={"decide": f"reject:{held['id']}", "csrf": good},
                follow_redirects=False)
    assert r.status_code == 303, r.text


SECRET_NAMES = re.compile(r"token|signature|sig\b|mac\b|digest|csrf|secret|password|hash",
                          re.IGNORECASE)


def _names(node: ast.AST) -> str:
    return " ".join(n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute)
                    else "" for n in ast.walk(node))


def test_secrets_are_compared_in_constant_time() -> None:
    """No `==`/`!=` between two things named like secrets anywhere in the package: a plain
    comparison returns at the first differing byte, and that timing leaks the secret."""
    offenders = []
    for path in sorted((REPO / "src" / "rejoinder").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Constant) for s in sides):
                continue  # comparing with a literal (None, "", a mode name) leaks nothing secret
            if any(isinstance(s, ast.Name) and s.id.isupper() for s in sides):
                continue  # a module constant is public (the refused development default key)
            if any(".c." in ast.unparse(s) for s in sides):
                # SQL: a lookup by the SHA-256 of a random token. The database's timing can only
                # tell how much of the *hash* matched, which does not help to find the token.
                continue
            if all(SECRET_NAMES.search(_names(s)) for s in sides):
                offenders.append(f"{Path(path).relative_to(REPO)}:{node.lineno}: "
                                 f"{ast.unparse(node)}")
    assert offenders == [], "use hmac.compare_digest:\n" + "\n".join(offenders)
    uses = sum(p.read_text().count("compare_digest")
               for p in (REPO / "src" / "rejoinder").rglob("*.py"))
    assert uses >= 4  # edit tokens, moderator sessions, CSRF, signed links


def test_a_flooding_client_is_throttled_while_others_post(
    app_factory: Callable[..., TestClient],
) -> None:
    """1,000 posts from one address as fast as the client can send them (well over a thousand a
    minute), with the default limits; every 100 of them another reader posts and is never
    refused."""
    flooder = app_factory(rate_limits=True, client_ip="198.51.100.66")
    make_site(flooder, "news", ["https://news.example.org"])
    statuses: dict[int, int] = {}
    for i in range(1000):
        r = flooder.post("/api/v1/comments", json={"site": "news", "thread": "/flood",
                                                   "body": f"flood {i}"})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
        if i % 100 == 50:
            reader = TestClient(flooder.app, client=(f"203.0.113.{50 + i // 100}", 1))
            ok = reader.post("/api/v1/comments", json={"site": "news", "thread": "/flood",
                                                       "body": f"An ordinary reader, turn {i}"})
            assert ok.status_code == 201, ok.text
    assert statuses == {201: 5, 429: 995}  # the default is 5 a minute per address
    page = flooder.get("/api/v1/comments", params={"site": "news", "thread": "/flood",
                                                  "limit": 100}).json()
    bodies = [c["body_html"] for c in page["comments"]]
    assert sum("ordinary reader" in b for b in bodies) == 10


def test_a_reader_cannot_vote_twice_by_clearing_cookies(tc: TestClient) -> None:
    """The voter key is the account for signed-in readers and the hashed address otherwise; a
    fresh browser (no cookies, a new voter header) on the same address is the same voter."""
    comment = post(tc, "Vote for me once")
    url = f"/api/v1/comments/{comment['id']}/votes"
    first = TestClient(tc.app, client=("198.51.100.9", 1))
    assert first.post(url, json={"value": 1}).json()["score"] == 1
    for n in range(5):
        fresh = TestClient(tc.app, client=("198.51.100.9", 2 + n))  # new browser, no cookies
        r = fresh.post(url, json={"value": 1}, headers={"X-Rejoinder-Voter": f"new-{n}"})
        assert r.json()["score"] == 1
    other = TestClient(tc.app, client=("198.51.100.10", 1))
    assert other.post(url, json={"value": 1}).json()["score"] == 2
