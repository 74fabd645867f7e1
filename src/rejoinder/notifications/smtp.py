"""A Mailer that hands messages to an SMTP server (`REJOINDER_SMTP_URL`).

One connection per message: notification volume is modest, and a fresh connection never trips
over a server that dropped an idle one. Each message carries a Message-ID derived from its outbox
row (`emails.message_id`), so the at-least-once edge (accepted, then the worker died before
marking the row sent) reaches readers as a repeat their mail system can recognise.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from rejoinder.notifications.emails import DeliveryError


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://[user:pass@]host[:port][?starttls=true]` or `smtps://[user:pass@]host[:port]`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("REJOINDER_SMTP_URL must look like smtp://host:port or smtps://host:port")
    implicit = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes", "on")
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls=starttls and not implicit,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpMailer:
    name = "smtp"

    def __init__(self, url: str, *, timeout: float = 15.0, helo_name: str | None = None) -> None:
        self.target = parse_smtp_url(url)
        self.timeout = timeout
        # Given explicitly: smtplib would otherwise look up our FQDN (slow where DNS is).
        self.helo_name = helo_name or "localhost"

    def send(self, message: EmailMessage) -> None:
        t = self.target
        try:
            smtp: smtplib.SMTP
            if t.implicit_tls:
                smtp = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout,
                                        local_hostname=self.helo_name,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(t.host, t.port, timeout=self.timeout,
                                    local_hostname=self.helo_name)
            with smtp:
                if t.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if t.username:
                    smtp.login(t.username, t.password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            # The one permanent failure: this address does not exist (5xx for every recipient).
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError("recipient refused", permanent=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            # Retried even on 5xx: a misconfigured login must delay mail, never drop it.
            raise DeliveryError(f"SMTP {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped, TLS
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise DeliveryError("recipient refused", permanent=True)
