"""The outbox's retry rule and the webhook signature: pure functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from rejoinder.domain.notifications import GIVE_UP_AFTER, gives_up, retry_delay
from rejoinder.domain.sites import SiteSettings
from rejoinder.notifications.smtp import parse_smtp_url
from rejoinder.notifications.webhooks import sign


def test_backoff_doubles_from_thirty_seconds_to_an_hour() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(10_000) == timedelta(hours=1)


def test_gives_up_after_two_days() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert not gives_up(t0, t0 + GIVE_UP_AFTER - timedelta(seconds=1))
    assert gives_up(t0, t0 + GIVE_UP_AFTER)


def test_signature_covers_timestamp_and_body() -> None:
    expected = hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("s3cret", "1700000000", b"{}") == f"sha256={expected}"
    assert sign("s3cret", "1700000001", b"{}") != sign("s3cret", "1700000000", b"{}")


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://127.0.0.1:1025")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls) == (
        "127.0.0.1", 1025, False, False)
    tls = parse_smtp_url("smtps://user%40x:p%3Ass@mail.example:465")
    assert tls.implicit_tls and tls.username == "user@x" and tls.password == "p:ss"
    assert parse_smtp_url("smtp://mx.example?starttls=true").starttls


def test_site_notification_settings() -> None:
    s = SiteSettings.from_json({"moderator_email": " desk@x.org ", "queue_alert_threshold": 0,
                                "webhook_url": "", "webhook_secret": None})
    assert s.moderator_email == "desk@x.org" and s.queue_alert_threshold == 1
    assert s.webhook_url is None and s.webhook_secret is None
