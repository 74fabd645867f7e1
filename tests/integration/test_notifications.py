"""Notifications end to end: a real SMTP server (aiosmtpd) and a real HTTP webhook receiver on
loopback, SQLite and PostgreSQL, the clock moved instead of slept."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.conftest import Clock, moderator_token
from tests.factories import post

from rejoinder.app import create_app
from rejoinder.config import Settings
from rejoinder.domain.notifications import OutboxItem, OutboxKind
from rejoinder.notifications.console import ConsoleMailer
from rejoinder.notifications.emails import DeliveryError, Mailer, build_message
from rejoinder.notifications.outbox import OutboxWorker
from rejoinder.notifications.smtp import SmtpMailer
from rejoinder.notifications.webhooks import WebhookSender
from rejoinder.services.sites import create_site
from rejoinder.storage.outbox import NotificationRepo

ARTICLE = "https://news.example.org/2026/11/story"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """A real SMTP server on loopback that keeps what it receives; can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self._lock:
            self.messages.append(msg)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


class Receiver:
    """A publisher's webhook endpoint: a real HTTP server in a thread, answering `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rejoinder"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


SECRET = "whsec-test-0123456789"


@pytest.fixture
def tc(app_factory: Callable[..., TestClient], sink: SmtpSink, receiver: Receiver) -> TestClient:
    # poll 0: no background thread; tests call deliver() and so decide when mail goes.
    client = app_factory(smtp_url=sink.url, outbox_poll_s=0)
    create_site(_services(client), "news", ["https://news.example.org"], settings={
        "webhook_url": receiver.url, "webhook_secret": SECRET,
        "moderator_email": "desk@news.example.org", "queue_alert_threshold": 2,
    })
    return client


def _services(tc: TestClient) -> Any:
    return tc.app.state.services  # type: ignore[attr-defined]


def deliver(tc: TestClient) -> int:
    worker: OutboxWorker = tc.app.state.outbox  # type: ignore[attr-defined]
    return worker.deliver_due()


def comment(tc: TestClient, body: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
    fields.setdefault("author_name", (email or "anon").split("@")[0])
    return post(tc, body, author_email=email, thread_url=ARTICLE, thread_title="The story",
                **fields)


def plain(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def html(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def link(msg: EmailMessage, page: str) -> str:
    found = re.search(rf"http://testserver/subscriptions/{page}\?token=\S+", plain(msg))
    assert found, plain(msg)
    return found.group(0)


def subscribe(tc: TestClient, sink: SmtpSink, email: str, notify: str = "thread") -> dict[str, Any]:
    """Post with "Notify of", then confirm through the link in the confirmation mail."""
    c = comment(tc, f"I follow this ({notify}).", email, notify=notify)
    deliver(tc)
    confirmation = [m for m in sink.to(email) if m["Subject"].startswith("Confirm")][-1]
    url = link(confirmation, "confirm")
    assert "Confirm" in tc.get(url).text
    assert tc.post(url).status_code == 200
    return c


def test_guest_gets_nothing_but_the_confirmation_until_confirmed(tc: TestClient,
                                                                 sink: SmtpSink) -> None:
    comment(tc, "First!", "ann@example.com", notify="thread")
    comment(tc, "Second, and I follow too.", "ann@example.com", notify="replies")
    deliver(tc)
    mails = sink.to("ann@example.com")
    assert [m["Subject"] for m in mails] == ["Confirm notifications from news"]  # one per day
    assert mails[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    comment(tc, "A reply from someone else.", "bob@example.com")
    deliver(tc)
    assert len(sink.to("ann@example.com")) == 1  # unconfirmed: no thread mail

    url = link(mails[0], "confirm")
    page = tc.get(url)  # opening the link (or a mail scanner doing so) confirms nothing
    assert page.status_code == 200 and "<form" in page.text
    comment(tc, "Still nothing for Ann.", "bob@example.com")
    deliver(tc)
    assert len(sink.to("ann@example.com")) == 1

    assert "Confirmed" in tc.post(url).text
    comment(tc, "Now Ann hears of this.", "bob@example.com")
    deliver(tc)
    latest = sink.to("ann@example.com")[1:]
    assert [m["Subject"] for m in latest] == ["New comment on The story"]
    assert "Now Ann hears of this." in plain(latest[0])
    assert tc.get("/subscriptions/confirm", params={"token": "not-a-real-token"}).status_code == 404


def test_reply_mails_the_parent_author_and_nobody_elses_address(tc: TestClient,
                                                               sink: SmtpSink) -> None:
    parent = subscribe(tc, sink, "ann@example.com", notify="replies")
    reply = comment(tc, "I disagree, Ann.", "bob@example.com", parent_id=parent["id"])
    comment(tc, "A top-level comment: not a reply to Ann.", "cy@example.com")
    deliver(tc)
    mails = [m for m in sink.to("ann@example.com") if not m["Subject"].startswith("Confirm")]
    assert len(mails) == 1
    msg = mails[0]
    assert msg["Subject"] == "bob replied to your comment on The story"
    assert f"{ARTICLE}#comment-{reply['id']}" in plain(msg)
    assert "I disagree, Ann." in plain(msg) and "I disagree, Ann." in html(msg)
    raw = msg.as_string()
    assert "bob@example.com" not in raw and "cy@example.com" not in raw
    assert msg["List-Unsubscribe"].startswith("<http://testserver/subscriptions/unsubscribe?")
    assert msg["Message-ID"]


def test_thread_subscribers_hear_of_others_comments_not_their_own(tc: TestClient,
                                                                 sink: SmtpSink) -> None:
    subscribe(tc, sink, "ann@example.com")
    subscribe(tc, sink, "bob@example.com")
    before = len(sink.messages)
    comment(tc, "Ann again.", "ANN@example.com")  # her own, whatever the case of the address
    deliver(tc)
    new = sink.messages[before:]
    assert [m["To"] for m in new] == ["bob@example.com"]


def test_held_comment_mails_nobody_until_approved(
    app_factory: Callable[..., TestClient], sink: SmtpSink, receiver: Receiver
) -> None:
    tc = app_factory(smtp_url=sink.url, outbox_poll_s=0)
    create_site(_services(tc), "news", ["https://news.example.org"], settings={
        "moderation": {"premoderate_all": True}, "webhook_url": receiver.url,
        "webhook_secret": SECRET, "moderator_email": "desk@news.example.org",
        "queue_alert_threshold": 1,
    })
    token = moderator_token(tc, "news")
    first = comment(tc, "Ann's comment, held.", "ann@example.com", notify="replies")
    mod = {"Authorization": f"Bearer {token}"}
    assert tc.post(f"/api/v1/moderation/comments/{first['id']}", json={"action": "approve"},
                   headers=mod).status_code == 200
    deliver(tc)
    tc.post(link(sink.to("ann@example.com")[0], "confirm"))

    held = comment(tc, "A held reply.", "bob@example.com", parent_id=first["id"])
    assert held["status"] == "pending"
    deliver(tc)
    assert [m["Subject"] for m in sink.to("ann@example.com")] == [
        "Confirm notifications from news"]
    # Both held comments reached the threshold; the desk hears of it at most hourly.
    alerts = sink.to("desk@news.example.org")
    assert len(alerts) == 1 and alerts[0]["Subject"] == "1 comments wait for moderation on news"

    assert tc.post(f"/api/v1/moderation/comments/{held['id']}", json={"action": "approve"},
                   headers=mod).status_code == 200
    deliver(tc)
    assert sink.to("ann@example.com")[-1]["Subject"] == "bob replied to your comment on The story"
    events = [json.loads(body)["type"] for _, body in receiver.requests]
    assert events.count("comment.created") == 2 and events.count("comment.approved") == 2


def test_one_click_unsubscribe(tc: TestClient, sink: SmtpSink) -> None:
    subscribe(tc, sink, "ann@example.com")
    comment(tc, "Hello Ann.", "bob@example.com")
    deliver(tc)
    msg = sink.to("ann@example.com")[-1]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = msg["List-Unsubscribe"].strip("<>")
    assert url == link(msg, "unsubscribe")

    page = tc.get(url)  # a GET shows a confirm page and changes nothing
    assert page.status_code == 200 and 'method="post"' in page.text
    comment(tc, "Still subscribed.", "bob@example.com")
    deliver(tc)
    count = len(sink.to("ann@example.com"))

    # What a mail provider sends for RFC 8058 one-click: no cookie, no form token, no Origin.
    r = tc.post(url, content="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "Unsubscribed" in r.text
    comment(tc, "Ann no longer hears of this.", "bob@example.com")
    deliver(tc)
    assert len(sink.to("ann@example.com")) == count

    forged = re.sub(r"token=(\d+)\.", lambda m: f"token={int(m.group(1)) + 1}.", url)
    assert tc.post(forged, content="List-Unsubscribe=One-Click").status_code == 404


def test_webhooks_are_signed_with_the_site_secret(tc: TestClient, receiver: Receiver) -> None:
    token = moderator_token(tc, "news")
    c = comment(tc, "Published at once.", "ann@example.com")
    deliver(tc)
    assert tc.post(f"/api/v1/moderation/comments/{c['id']}", json={"action": "reject"},
                   headers={"Authorization": f"Bearer {token}"}).status_code == 200
    deliver(tc)
    assert [json.loads(b)["type"] for _, b in receiver.requests] == [
        "comment.created", "comment.rejected"]
    for headers, body in receiver.requests:
        signed = headers["x-rejoinder-timestamp"].encode() + b"." + body
        expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-rejoinder-signature"], expected)
        event = json.loads(body)
        assert event["comment"]["id"] == c["id"] and headers["x-rejoinder-delivery"] == event["id"]
        assert b"ann@example.com" not in body  # the author's address stays with us
    wrong = "sha256=" + hmac.new(b"another secret", signed, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(headers["x-rejoinder-signature"], wrong)


def test_webhook_receiver_down_is_retried(tc: TestClient, receiver: Receiver,
                                          clock: Clock) -> None:
    receiver.status = 503
    comment(tc, "Webhook please.")
    deliver(tc)
    assert len(receiver.requests) == 1
    receiver.status = 200
    deliver(tc)
    assert len(receiver.requests) == 1  # not due yet: backoff
    clock.advance(seconds=31)
    deliver(tc)
    assert len(receiver.requests) == 2
    assert receiver.requests[0][1] == receiver.requests[1][1]  # the same event, same id


def test_smtp_down_for_an_hour_delays_mail_and_loses_none(
    tc: TestClient, sink: SmtpSink, clock: Clock
) -> None:
    subscribe(tc, sink, "ann@example.com")
    subscribe(tc, sink, "bob@example.com")
    sink.stop()
    for i in range(3):
        comment(tc, f"Comment {i} while the mail server is down.", "cy@example.com")
    before = len(sink.messages)
    for _ in range(12):  # an hour, a look every five minutes (the webhooks do go out)
        deliver(tc)
        clock.advance(minutes=5)
    assert len(sink.messages) == before
    with _services(tc).uow.read() as store:
        attempts = store.conn.execute(  # type: ignore[attr-defined]
            text("SELECT attempts FROM outbox WHERE sent_at IS NULL")).scalars().all()
    assert len(attempts) == 6 and min(attempts) >= 5  # 3 comments x 2 readers; backed off

    sink.start()
    clock.advance(hours=1)
    assert deliver(tc) == 6
    clock.advance(hours=1)  # leases long gone: nothing is taken up again
    assert deliver(tc) == 0
    new = sink.messages[before:]
    assert sorted(m["To"] for m in new) == ["ann@example.com"] * 3 + ["bob@example.com"] * 3
    ids = Counter(m["Message-ID"] for m in sink.messages)
    assert max(ids.values()) == 1


def test_sent_messages_are_pruned_after_thirty_days_pending_ones_never(
    tc: TestClient, sink: SmtpSink, clock: Clock
) -> None:
    subscribe(tc, sink, "ann@example.com")
    comment(tc, "A comment Ann hears of.", "bob@example.com")
    deliver(tc)
    sink.stop()
    comment(tc, "A comment while the mail server is down.", "cy@example.com")
    deliver(tc)  # fails: stays pending

    def rows() -> tuple[int, int]:
        with _services(tc).uow.read() as store:
            conn = store.conn  # type: ignore[attr-defined]
            sent = conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"))
            pending = conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL "
                                        "AND failed_at IS NULL"))
            return int(sent.scalar_one()), int(pending.scalar_one())

    worker: OutboxWorker = tc.app.state.outbox  # type: ignore[attr-defined]
    sent, pending = rows()
    assert sent >= 2 and pending >= 1
    clock.advance(days=29)
    assert worker.prune_if_due() == 0 and rows() == (sent, pending)
    clock.advance(days=2)
    assert worker.prune_if_due() == sent
    assert rows() == (0, pending)
    assert worker.prune_if_due() == 0  # at most once an hour


def test_outbox_survives_a_server_restart(
    settings_factory: Callable[..., Settings], sink: SmtpSink, clock: Clock
) -> None:
    sink.stop()  # the first server never reaches its mail server
    first = TestClient(create_app(settings_factory(smtp_url=sink.url, outbox_poll_s=0.05)))
    first.app.state.services.now = clock  # type: ignore[attr-defined]
    with first:
        create_site(_services(first), "news", ["https://news.example.org"])
        comment(first, "Subscribe me.", "ann@example.com", notify="thread")
        time.sleep(0.2)  # its worker tries and fails
    assert sink.messages == []

    sink.start()
    clock.advance(minutes=2)  # past the first retry delay
    second = TestClient(create_app(settings_factory(smtp_url=sink.url, outbox_poll_s=0.05)))
    second.app.state.services.now = clock  # type: ignore[attr-defined]
    with second:  # the background worker of the new process delivers it
        deadline = time.monotonic() + 10
        while not sink.messages and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [m["Subject"] for m in sink.to("ann@example.com")] == [
        "Confirm notifications from news"]


def test_comment_text_is_escaped_in_html_mail(tc: TestClient, sink: SmtpSink) -> None:
    subscribe(tc, sink, "ann@example.com")
    comment(tc, 'Look: <img src=x onerror="alert(1)"> & <b>bold</b>', "bob@example.com",
            author_name='<script>alert("name")</script>')
    deliver(tc)
    body = html(sink.to("ann@example.com")[-1])
    assert "<img" not in body and "<script" not in body and "<b>bold" not in body
    assert "&lt;img src=x onerror=" in body and "&lt;script&gt;" in body


def test_workers_in_parallel_send_each_message_once(tc: TestClient, sink: SmtpSink) -> None:
    services = _services(tc)
    with services.uow.write() as store:
        repo = NotificationRepo(store.conn)
        site_id = store.site_by_slug("news").id
        for i in range(30):
            assert repo.enqueue(OutboxKind.EMAIL, _payload(site_id, f"r{i}@example.com"),
                                f"test:{i}", services.now())
        assert not repo.enqueue(OutboxKind.EMAIL, _payload(site_id, "x@example.com"),
                                "test:0", services.now())  # the dedupe key holds
    base: OutboxWorker = tc.app.state.outbox  # type: ignore[attr-defined]
    workers = [OutboxWorker(services, base.db, base.mailer, base.webhooks, poll_s=0)
               for _ in range(4)]
    threads = [threading.Thread(target=w.deliver_due) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sink.messages) == 30
    assert len({m["Message-ID"] for m in sink.messages}) == 30


def _payload(site_id: int, to: str) -> dict[str, Any]:
    return {"to": to, "template": "queue", "subject": "Test", "site_id": site_id,
            "site_name": "news", "unsubscribe_url": None,
            "vars": {"size": 1, "threshold": 1, "public_url": "http://testserver"}}


# -- the Mailer contract: every implementation -----------------------------------------------
@pytest.fixture(params=["console", "smtp"])
def mailer(request: pytest.FixtureRequest) -> Iterator[tuple[Mailer, Callable[[], str]]]:
    if request.param == "console":
        stream = io.StringIO()
        yield ConsoleMailer(stream), stream.getvalue
        return
    s = SmtpSink()
    s.start()
    try:
        yield SmtpMailer(s.url), lambda: "\n".join(m.as_string() for m in s.messages)
    finally:
        s.stop()


def test_mailer_contract(mailer: tuple[Mailer, Callable[[], str]], clock: Clock) -> None:
    send, delivered = mailer
    settings = Settings(env="development", mail_from="News <comments@news.example.org>")
    item = OutboxItem(id=7, kind=OutboxKind.EMAIL, dedupe_key="contract:1", attempts=0,
                      created_at=clock.now, payload={
                          **_payload(1, "ann@example.com"),
                          "unsubscribe_url": "https://c.example/subscriptions/unsubscribe?token=1.x",
                      })
    msg = build_message(item, settings)
    assert msg["Message-ID"] == build_message(item, settings)["Message-ID"]  # stable per row
    send.send(msg)
    out = delivered()
    assert msg["Message-ID"] in out and "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in out
    assert "ann@example.com" in out and "comments wait for moderation" in out


def test_smtp_mailer_raises_delivery_error_when_the_server_is_down() -> None:
    msg = EmailMessage()
    msg["To"], msg["From"], msg["Subject"] = "a@example.com", "b@example.com", "x"
    with pytest.raises(DeliveryError) as info:
        SmtpMailer(f"smtp://127.0.0.1:{_free_port()}", timeout=2).send(msg)
    assert not info.value.permanent


def test_webhook_sender_does_not_follow_redirects(receiver: Receiver, clock: Clock) -> None:
    receiver.status = 302
    with pytest.raises(DeliveryError):
        WebhookSender(timeout=2).send(receiver.url, SECRET, {"id": "1", "type": "t"}, clock.now)


def test_outbox_cli_status_and_flush(
    tc: TestClient, sink: SmtpSink, clock: Clock, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from rejoinder.cli import app as cli

    clock.now = datetime.now(UTC) - timedelta(minutes=1)  # the CLI runs on the real clock
    comment(tc, "Follow, please.", "ann@example.com", notify="thread")  # confirmation + webhook
    for key, value in {"REJOINDER_ENV": "development", "REJOINDER_DATABASE_URL": db_url,
                       "REJOINDER_SMTP_URL": sink.url}.items():
        monkeypatch.setenv(key, value)
    status = CliRunner().invoke(cli, ["outbox", "status"])
    assert status.exit_code == 0 and "pending\t2" in status.stdout
    flushed = CliRunner().invoke(cli, ["outbox", "flush"])
    assert flushed.exit_code == 0 and "sent 2" in flushed.stdout
    assert [m["Subject"] for m in sink.to("ann@example.com")] == [
        "Confirm notifications from news"]
    assert "sent\t2" in CliRunner().invoke(cli, ["outbox", "status"]).stdout
