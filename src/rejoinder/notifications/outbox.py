"""The delivery worker: sends what the outbox holds, after the transactions that wrote it.

Each pass claims due rows with a lease (`claimed_until`), so several server processes may run a
worker on one database without sending a row twice; sends each one; and marks it sent, or
schedules a retry with exponential backoff (30 s doubling to 1 h), giving up after two days
(`domain.notifications`). A mail server that is down therefore delays mail and loses none.

Delivery is at least once: a crash between a server's acceptance and `mark_sent` sends that one
row again when its lease runs out. Mail keeps its Message-ID and webhooks their delivery id
across tries, so receivers can recognise the repeat.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from rejoinder.domain.notifications import OutboxItem, OutboxKind, gives_up, retry_delay
from rejoinder.domain.sites import SiteSettings
from rejoinder.notifications.console import ConsoleMailer
from rejoinder.notifications.emails import DeliveryError, Mailer, build_message
from rejoinder.notifications.smtp import SmtpMailer
from rejoinder.notifications.webhooks import WebhookSender
from rejoinder.services.context import Services
from rejoinder.storage import outbox as sql
from rejoinder.storage.engine import Database

log = logging.getLogger("rejoinder.outbox")

LEASE = timedelta(minutes=5)  # longer than the slowest send (SMTP and webhook time limits)
BATCH = 50
MAX_BATCHES_PER_PASS = 20
# Sent and abandoned messages are kept this long (for `outbox status` and dedupe of late
# duplicates), then deleted: they hold readers' addresses and comment text.
RETENTION = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)


class OutboxWorker:
    """Claims, sends and records outbox rows; `start()` runs passes in a background thread."""

    def __init__(
        self, services: Services, db: Database, mailer: Mailer, webhooks: WebhookSender, *,
        poll_s: float,
    ) -> None:
        self.services = services
        self.db = db
        self.mailer = mailer
        self.webhooks = webhooks
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at: datetime | None = None

    # -- one pass ---------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Send every row due now; returns how many were sent (failures are rescheduled)."""
        sent = 0
        for _ in range(MAX_BATCHES_PER_PASS):
            now = self.services.now()
            with self.db.reader.connect() as conn:
                if not sql.has_due(conn, now):
                    break
            with self.db.writer.connect() as conn, conn.begin():
                items = sql.claim_due(conn, now, LEASE, BATCH)
            for item in items:
                if self._stop.is_set():
                    return sent  # unsent claimed rows are taken up again after the lease
                sent += self._deliver(item)
            if len(items) < BATCH:
                break
        return sent

    def _deliver(self, item: OutboxItem) -> int:
        try:
            if item.kind is OutboxKind.EMAIL:
                self.mailer.send(build_message(item, self.services.settings))
            else:
                self._send_webhook(item)
        except Exception as exc:
            self._failed(item, exc)
            return 0
        with self.db.writer.connect() as conn, conn.begin():
            sql.mark_sent(conn, item.id, self.services.now())
        log.info("outbox sent id=%s kind=%s attempt=%s", item.id, item.kind.value,
                 item.attempts + 1)
        return 1

    def _send_webhook(self, item: OutboxItem) -> None:
        with self.db.reader.connect() as conn:
            raw = sql.site_settings(conn, int(item.payload["site_id"]))
        settings = SiteSettings.from_json(raw) if raw is not None else None
        if settings is None or not settings.webhook_url or not settings.webhook_secret:
            raise DeliveryError("the site no longer has a webhook", permanent=True)
        self.webhooks.send(settings.webhook_url, settings.webhook_secret, item.payload["event"],
                           self.services.now())

    def _failed(self, item: OutboxItem, exc: Exception) -> None:
        now = self.services.now()
        attempts = item.attempts + 1
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        next_at: datetime | None = None
        if not permanent and not gives_up(item.created_at, now):
            next_at = now + retry_delay(attempts)
        with self.db.writer.connect() as conn, conn.begin():
            sql.mark_retry(conn, item.id, f"{type(exc).__name__}: {exc}", next_at, now)
        # Logs carry ids and the error's type, never addresses or text (the error's message may).
        if next_at is None:
            log.error("outbox gave up id=%s kind=%s attempts=%s error=%s", item.id,
                      item.kind.value, attempts, type(exc).__name__)
        else:
            log.warning("outbox retry id=%s kind=%s attempts=%s error=%s next=%s", item.id,
                        item.kind.value, attempts, type(exc).__name__, next_at.isoformat())

    def prune_if_due(self) -> int:
        """Delete messages sent or abandoned more than RETENTION ago; at most once an hour."""
        now = self.services.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0
        with self.db.writer.connect() as conn, conn.begin():
            removed = sql.prune(conn, now - RETENTION)
        self._pruned_at = now
        if removed:
            log.info("outbox pruned %s messages older than %s days", removed, RETENTION.days)
        return removed

    # -- the background thread ----------------------------------------------------------------
    def start(self) -> None:
        """Run passes every `poll_s` seconds in a daemon thread (not at all when poll_s <= 0)."""
        if self.poll_s <= 0 or self._thread is not None:
            return
        try:
            # Connect once before the thread does: on a new SQLite file the first connection
            # switches it to WAL, which must not race the first request's connection.
            with self.db.reader.connect():
                pass
        except Exception as exc:  # the database is down: the thread's passes will retry
            log.warning("outbox: database not reachable at start: %s", type(exc).__name__)
        self._thread = threading.Thread(target=self._run, name="rejoinder-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Start the next pass now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self.poll_s)  # the first pass too: the app finishes starting first
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.deliver_due()
                self.prune_if_due()
            except Exception as exc:  # the database away for a moment: try again next poll
                log.warning("outbox pass failed: %s", type(exc).__name__)
                log.debug("outbox pass failed", exc_info=True)


def make_mailer(services: Services) -> Mailer:
    settings = services.settings
    if not settings.smtp_url:
        return ConsoleMailer()
    helo = urlsplit(settings.public_url).hostname
    return SmtpMailer(settings.smtp_url, helo_name=helo)


def start_outbox_worker(services: Services, db: Database) -> OutboxWorker:
    """Build the worker for these settings and start its thread (the app's lifespan calls this)."""
    if not services.settings.smtp_url:
        log.warning("no REJOINDER_SMTP_URL: notification mail is printed to the console, not sent")
    worker = OutboxWorker(services, db, make_mailer(services),
                          WebhookSender(services.settings.webhook_timeout_s),
                          poll_s=services.settings.outbox_poll_s)
    worker.start()
    return worker
