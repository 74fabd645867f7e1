"""Moderator pages (issue 4) through HTTP: sign-in, CSRF, queue actions, undo, settings,
dashboard, decisions export and who may see what. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.conftest import Clock, make_site
from tests.factories import post, thread

from rejoinder.domain.moderation import Evidence, Label, Scores
from rejoinder.domain.sites import Role
from rejoinder.services.sites import create_token


class WordRules:
    """A fixed classifier for these tests: 'vile' is hate 0.9, 'cheap pills' spam 0.8."""

    name = "rules"
    version = "t1"
    WORDS: ClassVar[dict[str, tuple[Label, float]]] = {"vile": (Label.HATE, 0.9), "cheap pills": (Label.SPAM, 0.8),
             "idiot": (Label.ABUSE, 0.85)}

    def score(self, texts: Sequence[str]) -> list[Scores]:
        out = []
        for t in texts:
            values = {label: 0.0 for label in Label}
            evidence = []
            for word, (label, p) in self.WORDS.items():
                at = t.lower().find(word)
                if at >= 0:
                    values[label] = p
                    # Abuse evidence comes without offsets, as from a normalising backend.
                    start, end = (-1, -1) if label is Label.ABUSE else (at, at + len(word))
                    evidence.append(Evidence(label, t[at:at + len(word)], start, end, "rules"))
            out.append(Scores(values, tuple(evidence)))
        return out


@pytest.fixture
def tc(app_factory: Callable[..., TestClient]) -> TestClient:
    c = app_factory(classifier_override=WordRules())
    make_site(c, "news", ["https://news.example.org"])
    make_site(c, "other", ["https://other.example.org"])
    return c


def token(tc: TestClient, site: str = "news", role: Role = Role.MODERATOR) -> str:
    return create_token(tc.app.state.services, site, role)  # type: ignore[attr-defined]


def browser(tc: TestClient) -> TestClient:
    """A second browser on the same server (its own cookies)."""
    return TestClient(tc.app, base_url="http://testserver")


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def sign_in(c: TestClient, raw: str) -> str:
    """Sign in through the form; returns the CSRF token of the session's pages."""
    form = c.get("/moderation/login")
    r = c.post("/moderation/login", data={"token": raw, "csrf": csrf_of(form.text)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    assert page.status_code == 200
    return csrf_of(page.text)


def status_of(tc: TestClient, comment_id: int) -> str:
    db = tc.app.state.db  # type: ignore[attr-defined]
    with db.reader.connect() as conn:
        return str(conn.execute(text("SELECT status FROM comments WHERE id = :i"),
                                {"i": comment_id}).scalar_one())


def audit_rows(tc: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    db = tc.app.state.db  # type: ignore[attr-defined]
    with db.reader.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, detail FROM audit_log ORDER BY id"))
        return [(r.actor, r.action, r.detail if isinstance(r.detail, dict)
                 else orjson.loads(r.detail)) for r in rows]


def decide(c: TestClient, csrf: str, action: str, *ids: int, bulk: bool = False,
           site: str = "news") -> Any:
    data: dict[str, Any] = {"csrf": csrf}
    if bulk:
        data.update(bulk=action, ids=[str(i) for i in ids])
    else:
        data["decide"] = f"{action}:{ids[0]}"
    return c.post(f"/moderation/{site}/decide", data=data, follow_redirects=False)


# -- sign-in ---------------------------------------------------------------------------------
def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_it(tc: TestClient) -> None:
    assert tc.get("/moderation/news", follow_redirects=False).headers["location"] == \
        "/moderation/login"
    form = tc.get("/moderation/login")
    r = tc.post("/moderation/login", data={"token": token(tc), "csrf": csrf_of(form.text)},
                follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/moderation/news"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("rj_mod="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert "rj_" not in cookie.split("=", 1)[1].split(";")[0]  # the token itself is not stored
    page = tc.get("/moderation/news")
    assert page.status_code == 200 and "Queue" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # Sign-out needs the CSRF token too.
    assert tc.post("/moderation/logout", data={}, follow_redirects=False).status_code == 403
    out = tc.post("/moderation/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert tc.get("/moderation/news", follow_redirects=False).status_code == 303


def test_sign_in_refuses_bad_tokens_and_forged_forms(tc: TestClient) -> None:
    form = tc.get("/moderation/login")
    bad = tc.post("/moderation/login", data={"token": "rj_nope", "csrf": csrf_of(form.text)})
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    # A form posted from elsewhere has no matching login cookie: refused before the token is read.
    other = browser(tc)
    forged = other.post("/moderation/login", data={"token": token(tc), "csrf": csrf_of(form.text)},
                        follow_redirects=False)
    assert forged.status_code == 403 and "rj_mod=" not in forged.headers.get("set-cookie", "")


def test_secure_cookie_behind_https(app_factory: Callable[..., TestClient]) -> None:
    plain = app_factory(public_url="https://comments.example.org")
    make_site(plain, "news", ["https://news.example.org"])
    c = TestClient(plain.app, base_url="https://testserver")  # Secure cookies need https
    form = c.get("/moderation/login")
    r = c.post("/moderation/login", data={"token": token(c), "csrf": csrf_of(form.text)},
               follow_redirects=False)
    assert "Secure" in next(h for h in r.headers.get_list("set-cookie")
                            if h.startswith("rj_mod="))


def test_revoking_the_token_ends_the_session(tc: TestClient) -> None:
    sign_in(tc, token(tc))
    db = tc.app.state.db  # type: ignore[attr-defined]
    with db.writer.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET revoked_at = created_at"))
    assert tc.get("/moderation/news", follow_redirects=False).status_code == 303


def test_session_expires(tc: TestClient, clock: Clock) -> None:
    sign_in(tc, token(tc))
    clock.advance(hours=13)
    assert tc.get("/moderation/news", follow_redirects=False).status_code == 303


# -- the queue -------------------------------------------------------------------------------
def test_queue_shows_context_with_evidence_highlighted_and_text_escaped(tc: TestClient) -> None:
    parent = post(tc, "The council met on <b>Tuesday</b>.", thread_title="Council & budget",
                  thread_url="https://news.example.org/council", author_email="a@example.org")
    held = post(tc, "You are <script>alert(1)</script> vile, an Idiot", parent_id=parent["id"],
                author_name="<img src=x>", author_email="troll@example.org")
    assert held["status"] == "pending"
    other_ip = TestClient(tc.app, client=("198.51.100.9", 1))
    flagged = post(other_ip, "Buy cheap pills now at example.org")
    assert flagged["status"] == "pending"
    sign_in(tc, token(tc))
    page = tc.get("/moderation/news").text
    item = page[page.index(f'id="c-{held["id"]}"'):page.index(f'id="c-{flagged["id"]}"')] \
        if page.index(f'id="c-{held["id"]}"') < page.index(f'id="c-{flagged["id"]}"') else \
        page[page.index(f'id="c-{held["id"]}"'):]
    assert '<mark class="ev ev-hate" title="hate">vile</mark>' in item
    assert '<mark class="ev ev-abuse" title="abuse">Idiot</mark>' in item  # found by the words
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item and "<script>alert" not in page
    assert "&lt;img src=x&gt;" in item
    assert "Council &amp; budget" in item and 'href="https://news.example.org/council"' in item
    assert "In reply to" in item and "<b>Tuesday</b>" not in item  # parent as sanitised HTML
    assert "hate 0.90" in item
    # Author history: counts by status only; no e-mail for a moderator, no IP ever.
    assert "1 pending, 1 published" in item
    assert "troll@example.org" not in page and "203.0.113.7" not in page
    admin = browser(tc)
    sign_in(admin, token(tc, role=Role.ADMIN))
    assert "troll@example.org" in admin.get("/moderation/news").text


def test_queue_sorts_by_severity_and_lists_reader_flags(tc: TestClient) -> None:
    spam = post(tc, "cheap pills")  # spam 0.8: held
    hate = post(tc, "vile")  # hate 0.9: held
    ok = post(tc, "A measured reply.")
    r = tc.post(f"/api/v1/comments/{ok['id']}/flags", json={"reason": "off_topic", "note": "<x>"})
    assert r.status_code in (200, 201, 204), r.text
    sign_in(tc, token(tc))
    newest = tc.get("/moderation/news").text
    ids = [int(i) for i in re.findall(r'<article class="item[^"]*" id="c-(\d+)"', newest)]
    assert ids == [ok["id"], hate["id"], spam["id"]]
    assert "Flagged: off_topic" in newest and "“&lt;x&gt;”" in newest
    severe = tc.get("/moderation/news?sort=severe").text
    ids = [int(i) for i in re.findall(r'<article class="item[^"]*" id="c-(\d+)"', severe)]
    assert ids == [hate["id"], spam["id"], ok["id"]]


# -- CSRF and actions ------------------------------------------------------------------------
def test_forms_without_the_sessions_csrf_token_change_nothing(tc: TestClient) -> None:
    held = post(tc, "vile")
    csrf = sign_in(tc, token(tc))
    other = browser(tc)
    other_csrf = sign_in(other, token(tc))
    assert other_csrf != csrf
    for data in ({"decide": f"approve:{held['id']}"},
                 {"decide": f"approve:{held['id']}", "csrf": "0" * 64},
                 {"decide": f"approve:{held['id']}", "csrf": other_csrf}):
        r = tc.post("/moderation/news/decide", data=data, follow_redirects=False)
        assert r.status_code == 403, data
    assert tc.post("/moderation/news/undo", data={"csrf": "x"}).status_code == 403
    assert status_of(tc, held["id"]) == "pending" and audit_rows(tc) == []


def test_approve_reject_and_ban_through_the_forms(tc: TestClient) -> None:
    a, b, c = post(tc, "vile one"), post(tc, "vile two"), post(tc, "vile three")
    csrf = sign_in(tc, token(tc))
    r = decide(tc, csrf, "approve", a["id"])
    assert r.status_code == 303 and r.headers["location"] == "/moderation/news?done=approve&n=1"
    assert "Approved 1 comment." in tc.get(r.headers["location"]).text
    assert [x["id"] for x in thread(tc)["comments"]] == [a["id"]]
    assert decide(tc, csrf, "reject", b["id"]).status_code == 303
    assert status_of(tc, b["id"]) == "rejected"
    assert decide(tc, csrf, "ban_author", c["id"]).status_code == 303
    assert status_of(tc, c["id"]) == "rejected"
    # The banned author's next harmless comment is refused; another reader's publishes.
    assert post(tc, "Harmless now")["status"] == "rejected"
    assert post(TestClient(tc.app, client=("192.0.2.55", 1)), "Someone else")["status"] == \
        "published"
    rows = audit_rows(tc)
    assert [(r[1], r[2]["from"], r[2]["to"], r[2]["labels"]) for r in rows] == [
        ("approve", "pending", "published", ["hate"]),
        ("reject", "pending", "rejected", ["hate"]),
        ("ban_author", "pending", "rejected", ["hate"]),
    ]
    assert all(r[0].startswith("token:") for r in rows)
    # A comment of another site cannot be decided from this site's queue.
    foreign = post(tc, "vile elsewhere", site="other")
    assert decide(tc, csrf, "approve", foreign["id"]).status_code == 404
    assert decide(tc, csrf, "nuke", a["id"]).status_code == 422
    assert status_of(tc, foreign["id"]) == "pending"


def test_a_ban_from_the_queue_reaches_the_account_and_undo_lifts_it(tc: TestClient) -> None:
    r = tc.post("/api/v1/auth/register", json={"site": "news", "email": "v@example.org",
                                                "password": "correct horse battery", "name": "V"})
    session = {"Authorization": f"Bearer {r.json()['session_token']}"}
    held = post(tc, "vile signed in", headers=session)
    csrf = sign_in(tc, token(tc))
    assert decide(tc, csrf, "shadow_ban", held["id"]).status_code == 303
    elsewhere = TestClient(tc.app, client=("198.51.100.77", 3))
    # Shadow-banned: the account's comments wait unseen, from any address.
    again = post(elsewhere, "Harmless, new address", headers=session)
    assert again["status"] == "pending"
    # The queue marks the new comment, from an address never banned, as the author's.
    assert "shadow-banned" in tc.get("/moderation/news").text
    # Undo lifts the ban (address and account are one ban): the next comment publishes.
    undone = tc.post("/moderation/news/undo", data={"csrf": csrf}, follow_redirects=False)
    assert undone.headers["location"].endswith("done=undo&n=1")
    assert post(elsewhere, "Harmless again", headers=session)["status"] == "published"


def test_bulk_actions_and_undo_restore_the_previous_status(tc: TestClient) -> None:
    a, b, c = post(tc, "vile a"), post(tc, "vile b"), post(tc, "vile c")
    csrf = sign_in(tc, token(tc))
    assert decide(tc, csrf, "reject", c["id"]).status_code == 303
    r = decide(tc, csrf, "approve", a["id"], b["id"], bulk=True)
    assert r.headers["location"].endswith("done=approve&n=2")
    assert thread(tc)["thread"]["comment_count"] == 2
    # Undo takes back the whole bulk action, then the one before it.
    assert tc.post("/moderation/news/undo", data={"csrf": csrf},
                   follow_redirects=False).headers["location"].endswith("done=undo&n=2")
    assert [status_of(tc, x["id"]) for x in (a, b, c)] == ["pending", "pending", "rejected"]
    assert thread(tc)["thread"]["comment_count"] == 0
    tc.post("/moderation/news/undo", data={"csrf": csrf})
    assert status_of(tc, c["id"]) == "pending"
    assert tc.post("/moderation/news/undo", data={"csrf": csrf}).status_code == 409
    undos = [r for r in audit_rows(tc) if r[1] == "undo"]
    assert [(u[2]["from"], u[2]["to"]) for u in undos] == [
        ("published", "pending"), ("published", "pending"), ("rejected", "pending")]


def test_undo_of_a_ban_lifts_it_and_undo_of_approve_reopens_flags(tc: TestClient) -> None:
    held = post(tc, "vile")
    csrf = sign_in(tc, token(tc))
    decide(tc, csrf, "shadow_ban", held["id"])
    assert post(tc, "Harmless")["status"] == "pending"
    tc.post("/moderation/news/undo", data={"csrf": csrf})
    assert post(tc, "Harmless again")["status"] == "published"
    ok = post(TestClient(tc.app, client=("192.0.2.77", 1)), "fine words")
    tc.post(f"/api/v1/comments/{ok['id']}/flags", json={"reason": "spam"})
    decide(tc, csrf, "approve", ok["id"])
    assert f'id="c-{ok["id"]}"' not in tc.get("/moderation/news").text
    tc.post("/moderation/news/undo", data={"csrf": csrf})
    assert "Flagged: spam" in tc.get("/moderation/news").text


def test_inline_actions_answer_json_for_fetch(tc: TestClient) -> None:
    held = post(tc, "vile")
    csrf = sign_in(tc, token(tc))
    r = tc.post("/moderation/news/decide", data={"csrf": csrf, "decide": f"reject:{held['id']}"},
                headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json() == {"action": "reject", "changed": [held["id"]],
                                                 "skipped": []}
    bad = tc.post("/moderation/news/decide", data={"decide": f"reject:{held['id']}"},
                  headers={"Accept": "application/json"})
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "bad_csrf"


# -- settings --------------------------------------------------------------------------------
def _settings_form(c: TestClient, **changes: str) -> dict[str, Any]:
    page = c.get("/moderation/news/settings").text
    data: dict[str, Any] = {"csrf": csrf_of(page), "guest_posting": "on"}
    for label in Label:
        for kind in ("hold", "reject"):
            m = re.search(rf'name="{kind}_{label.value}" id="[^"]+" value="([^"]*)"', page)
            assert m
            data[f"{kind}_{label.value}"] = m.group(1)
    data.update(changes)
    return data


def test_settings_change_the_next_posts_decision(tc: TestClient) -> None:
    admin_csrf = sign_in(tc, token(tc, role=Role.ADMIN))
    assert post(tc, "vile")["status"] == "pending"
    r = tc.post("/moderation/news/settings", data=_settings_form(tc, reject_hate="0.8"),
                follow_redirects=False)
    assert r.status_code == 303, r.text
    assert post(tc, "vile again")["status"] == "rejected"
    r = tc.post("/moderation/news/settings",
                data=_settings_form(tc, hold_hate="1.01", reject_hate="1.01",
                                    blocklist="parking\n", premoderate_first_time="on"),
                follow_redirects=False)
    assert r.status_code == 303
    # Hate no longer holds, but this author has nothing published yet: first-time hold.
    vile = post(tc, "vile but allowed now")
    assert vile["status"] == "pending"
    with tc.app.state.services.uow.read() as store:  # type: ignore[attr-defined]
        verdict = store.comment(vile["id"]).moderation
    assert "first comment from this author" in verdict["reasons"]
    assert post(tc, "the parking fines again")["status"] == "pending"  # block list holds
    page = tc.get("/moderation/news/settings").text
    assert 'name="premoderate_first_time" id="premoderate_first_time" checked' in page
    bad = tc.post("/moderation/news/settings", data=_settings_form(tc, hold_spam="2"))
    assert bad.status_code == 422 and "between 0 and 1.01" in bad.text
    assert admin_csrf


def test_saving_settings_clears_cached_thread_pages(tc: TestClient) -> None:
    post(tc, "A fine comment.")
    assert thread(tc)["edit_window_seconds"] == 900  # now cached
    sign_in(tc, token(tc, role=Role.ADMIN))
    tc.post("/moderation/news/settings", data=_settings_form(
        tc, edit_window_s="60", support_text="Support us", support_url="https://news.example.org/give",
        support_amount=["5", "10"]))
    data = thread(tc)
    assert data["edit_window_seconds"] == 60
    assert data["support"] == {"text": "Support us", "amounts": [5, 10],
                               "url": "https://news.example.org/give"}


def test_moderators_may_read_settings_but_not_change_them(tc: TestClient) -> None:
    csrf = sign_in(tc, token(tc))
    page = tc.get("/moderation/news/settings")
    assert page.status_code == 200 and "Read-only" in page.text and "<fieldset disabled>" in page.text
    data = _settings_form(tc, reject_hate="0.1")
    data["csrf"] = csrf
    r = tc.post("/moderation/news/settings", data=data, follow_redirects=False)
    assert r.status_code == 403
    assert post(tc, "vile")["status"] == "pending"


def test_admins_close_and_reopen_a_thread(tc: TestClient) -> None:
    post(tc, "First!")
    csrf = sign_in(tc, token(tc, role=Role.ADMIN))
    r = tc.post("/moderation/news/threads", data={"csrf": csrf, "key": "/2026/11/story",
                                                  "action": "close"}, follow_redirects=False)
    assert r.status_code == 303
    assert thread(tc)["thread"]["locked"] is True
    assert post(tc, "Too late", expect=409)["error"]["code"] == "thread_locked"
    tc.post("/moderation/news/threads", data={"csrf": csrf, "key": "/2026/11/story",
                                              "action": "reopen"})
    assert post(tc, "Open again")["status"] == "published"
    assert tc.post("/moderation/news/threads", data={"csrf": csrf, "key": "/nope",
                                                     "action": "close"}).status_code == 404


# -- dashboard and export --------------------------------------------------------------------
def test_dashboard_numbers_match_the_data(tc: TestClient, clock: Clock) -> None:
    post(tc, "fine one")
    clock.advance(days=1)
    held = [post(tc, "vile x"), post(tc, "idiot y"), post(tc, "fine two")]
    csrf = sign_in(tc, token(tc))
    clock.advance(minutes=30)
    decide(tc, csrf, "approve", held[0]["id"])
    decide(tc, csrf, "reject", held[1]["id"])
    page = tc.get("/moderation/news/dashboard").text
    assert page.count("<svg") == 4 and "<rect" in page
    assert '<span class="big" id="kpi-total">4</span>' in page
    assert '<span class="big" id="kpi-held">50%</span>' in page
    assert '<span class="big" id="kpi-median">30.0 min</span>' in page
    labels = page[page.index('id="t-labels"'):]
    assert "<th scope=\"row\">hate</th><td>1</td><td>0</td>" in labels
    assert "<th scope=\"row\">abuse</th><td>0</td><td>1</td>" in labels
    days = page[page.index('id="t-days"'):]
    assert '<th scope="row">2026-11-23</th><td>1</td>' in days
    assert '<th scope="row">2026-11-24</th><td>3</td>' in days
    assert '<th scope="row">5-60 min</th><td>2</td>' in page


def test_decisions_export_has_the_final_decision_per_comment(tc: TestClient) -> None:
    a, b = post(tc, "vile a"), post(tc, "cheap pills b")
    csrf = sign_in(tc, token(tc))
    decide(tc, csrf, "approve", a["id"])
    decide(tc, csrf, "reject", b["id"])
    decide(tc, csrf, "reject", a["id"])
    tc.post("/moderation/news/undo", data={"csrf": csrf})  # back to approved
    r = tc.get("/moderation/news/decisions.jsonl")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(x) for x in r.content.splitlines()]
    assert [(x["comment_id"], x["moderator_action"], x["status"]) for x in lines] == [
        (a["id"], "approve", "published"), (b["id"], "reject", "rejected")]
    assert lines[0]["text"] == "vile a" and lines[0]["scores"]["hate"] == 0.9
    assert lines[1]["labels"] == ["spam"] and lines[1]["model_decision"] == "hold"


# -- authorisation matrix --------------------------------------------------------------------
ROUTES = [
    ("GET", "/moderation/news", False), ("GET", "/moderation/news/dashboard", False),
    ("GET", "/moderation/news/settings", False), ("GET", "/moderation/news/decisions.jsonl", False),
    ("POST", "/moderation/news/decide", False), ("POST", "/moderation/news/undo", False),
    ("POST", "/moderation/news/settings", True), ("POST", "/moderation/news/threads", True),
]


@pytest.mark.parametrize("who", ["anonymous", "other_site", "moderator", "admin"])
def test_authorisation_matrix(tc: TestClient, who: str) -> None:
    held = post(tc, "vile")
    post(tc, "fine")
    c = browser(tc)
    csrf = "none"
    if who != "anonymous":
        site = "other" if who == "other_site" else "news"
        csrf = sign_in(c, token(tc, site, Role.ADMIN if who == "admin" else Role.MODERATOR))
    forms = {"/moderation/news/decide": {"decide": f"reject:{held['id']}"},
             "/moderation/news/threads": {"key": "/2026/11/story", "action": "close"},
             }
    for method, path, admin_only in ROUTES:
        if method == "GET":
            r = c.get(path, follow_redirects=False)
        else:
            r = c.post(path, data={"csrf": csrf, **forms.get(path, {})}, follow_redirects=False)
        if who == "anonymous":
            expected = {303} if method == "GET" else {401}
        elif who == "other_site" or (who == "moderator" and admin_only):
            expected = {403}
        else:
            expected = {200, 303, 409, 422}
        assert r.status_code in expected, (who, method, path, r.status_code)
        if who == "anonymous" and method == "GET":
            assert r.headers["location"] == "/moderation/login"
    decided = any(row[1] == "reject" for row in audit_rows(tc))
    assert decided is (who in ("moderator", "admin"))
