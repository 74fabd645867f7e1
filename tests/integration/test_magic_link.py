"""Sign-in by email magic link: a real SMTP server receives the mail, the link signs in once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.conftest import Clock
from tests.integration.test_notifications import SmtpSink

from rejoinder.notifications.outbox import OutboxWorker
from rejoinder.services.sites import create_site

PAGE = "https://news.example.org/2026/11/story"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def tc(app_factory: Callable[..., TestClient], sink: SmtpSink) -> TestClient:
    client = app_factory(smtp_url=sink.url, outbox_poll_s=0)
    create_site(client.app.state.services, "news",  # type: ignore[attr-defined]
                ["https://news.example.org"])
    return client


def deliver(tc: TestClient) -> int:
    worker: OutboxWorker = tc.app.state.outbox  # type: ignore[attr-defined]
    return worker.deliver_due()


def ask(tc: TestClient, email: str, return_url: str = PAGE + "?x=1#old") -> Any:
    return tc.post("/api/v1/auth/magic-link",
                   json={"site": "news", "email": email, "return_url": return_url})


def verify(tc: TestClient, token: str) -> Any:
    return tc.post("/api/v1/auth/magic-link/verify", json={"site": "news", "token": token})


def token_in_mail(sink: SmtpSink, address: str) -> str:
    [msg] = sink.to(address)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    found = re.search(r"(https://\S+#rejoinder-login=(rl_[\w-]+))", content)
    assert found, content
    assert found.group(1).startswith(PAGE + "?x=1#rejoinder-login=")  # old fragment dropped
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and found.group(2) in html.get_content()
    return found.group(2)


def outbox_rows(tc: TestClient) -> int:
    engine = tc.app.state.services.uow.db.writer  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())


def register(tc: TestClient, email: str) -> None:
    r = tc.post("/api/v1/auth/register", json={"site": "news", "email": email,
                                                "password": "correct horse battery", "name": "Ann"})
    assert r.status_code == 201, r.text


def test_link_signs_in_once_known_account(tc: TestClient, sink: SmtpSink) -> None:
    register(tc, "ann@example.org")
    r = ask(tc, "ANN@example.org")
    assert r.status_code == 202 and r.content == b""
    assert deliver(tc) == 1
    token = token_in_mail(sink, "ann@example.org")
    assert "Sign in" in sink.to("ann@example.org")[0]["Subject"]

    r = verify(tc, token)
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["session_token"].startswith("rs_")
    assert session["user"]["name"] == "Ann" and session["user"]["email"] == "ann@example.org"
    me = tc.get("/api/v1/me", headers={"Authorization": f"Bearer {session['session_token']}"})
    assert me.status_code == 200 and me.json()["name"] == "Ann"

    again = verify(tc, token)
    assert again.status_code == 401 and again.json()["error"]["code"] == "bad_link"


def test_unknown_email_gets_same_answer_and_account_on_verify(
    tc: TestClient, sink: SmtpSink
) -> None:
    register(tc, "ann@example.org")
    known, unknown = ask(tc, "ann@example.org"), ask(tc, "new.reader@example.org")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    assert deliver(tc) == 2
    token = token_in_mail(sink, "new.reader@example.org")
    # No account until the link is used.
    r = tc.post("/api/v1/auth/login", json={"site": "news", "email": "new.reader@example.org",
                                            "password": "whatever12345"})
    assert r.status_code == 401
    session = verify(tc, token).json()
    assert session["user"]["name"] == "new.reader"
    assert session["user"]["email"] == "new.reader@example.org"
    # A second link signs in the same account, not a new one.
    ask(tc, "new.reader@example.org")
    tc.app.state.services.now.advance(minutes=2)  # type: ignore[attr-defined]
    ask(tc, "new.reader@example.org")
    deliver(tc)
    token2 = token_in_mail_last(sink, "new.reader@example.org")
    assert verify(tc, token2).json()["user"]["id"] == session["user"]["id"]


def token_in_mail_last(sink: SmtpSink, address: str) -> str:
    msg = sink.to(address)[-1]
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"#rejoinder-login=(rl_[\w-]+)", body.get_content())
    assert found
    return found.group(1)


def test_expired_link_is_refused(tc: TestClient, sink: SmtpSink, clock: Clock) -> None:
    ask(tc, "late@example.org")
    deliver(tc)
    token = token_in_mail(sink, "late@example.org")
    clock.advance(minutes=16)
    r = verify(tc, token)
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_link"
    for junk in ("rl_nope", "rs_" + token[3:], ""):
        assert verify(tc, junk).status_code in (401, 422)


def test_link_is_for_its_own_site(tc: TestClient, sink: SmtpSink) -> None:
    create_site(tc.app.state.services, "other",  # type: ignore[attr-defined]
                ["https://other.example.com"])
    ask(tc, "ann@example.org")
    deliver(tc)
    token = token_in_mail(sink, "ann@example.org")
    r = tc.post("/api/v1/auth/magic-link/verify", json={"site": "other", "token": token})
    assert r.status_code == 401
    assert verify(tc, token).status_code == 200


@pytest.mark.parametrize("url", [
    "https://evil.example.com/login",
    "https://news.example.org.evil.com/",
    "https://news.example.org@evil.com/",
    "http://news.example.org/story",  # scheme is part of the origin
    "javascript:alert(1)//news.example.org",
    "//news.example.org/story",
    "https://news.example.org:99999/",
])
def test_foreign_return_url_is_refused_and_sends_nothing(
    tc: TestClient, sink: SmtpSink, url: str
) -> None:
    r = ask(tc, "ann@example.org", url)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_return_url"
    assert outbox_rows(tc) == 0
    assert deliver(tc) == 0 and sink.messages == []


def test_one_mail_per_address_and_minute(tc: TestClient, sink: SmtpSink, clock: Clock) -> None:
    for _ in range(3):
        assert ask(tc, "ann@example.org").status_code == 202
    assert ask(tc, "bob@example.org").status_code == 202
    assert deliver(tc) == 2
    clock.advance(seconds=61)
    assert ask(tc, "Ann@example.org").status_code == 202
    assert deliver(tc) == 1
    assert len(sink.to("ann@example.org")) == 2 and len(sink.to("bob@example.org")) == 1


def test_auth_rate_limit_applies(app_factory: Callable[..., TestClient], sink: SmtpSink) -> None:
    tc = app_factory(smtp_url=sink.url, outbox_poll_s=0, rate_limits=True)
    create_site(tc.app.state.services, "news",  # type: ignore[attr-defined]
                ["https://news.example.org"])
    codes = [ask(tc, f"r{i}@example.org").status_code for i in range(40)]
    assert codes[0] == 202 and 429 in codes
