"""Turning an outbox row into an email: plain text plus an HTML alternative, and its headers.

Rendering happens at send time from the row's payload alone (no database reads), with Jinja2:
`.html` templates autoescape, so every piece of a reader's text is escaped in the HTML part.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rejoinder.config import Settings
from rejoinder.domain.notifications import OutboxItem

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "notifications"
_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"], default_for_string=False, default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class DeliveryError(Exception):
    """A message could not be handed over. `permanent`: retrying cannot help (e.g. 550)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    """Hands one message to the mail system; returns only once it was accepted.

    Raises DeliveryError when it was not; the outbox then retries later. Implementations:
    `console.ConsoleMailer` (development) and `smtp.SmtpMailer`.
    """

    def send(self, message: EmailMessage) -> None: ...


def message_id(item: OutboxItem, settings: Settings) -> str:
    """The same Message-ID for every try of one outbox row.

    Delivery is at least once: if a worker dies after the server accepted a message but before
    the row is marked sent, the message goes again after the lease; receivers (and our tests)
    recognise the repeat by this header.
    """
    digest = hashlib.sha256(item.dedupe_key.encode()).hexdigest()[:16]
    return f"<rejoinder.{item.id}.{digest}@{_mail_domain(settings)}>"


def _mail_domain(settings: Settings) -> str:
    _, address = parseaddr(settings.mail_from)
    domain = address.rpartition("@")[2]
    return domain or urlsplit(settings.public_url).hostname or "localhost"


def build_message(item: OutboxItem, settings: Settings) -> EmailMessage:
    """The email of an outbox row of kind `email`."""
    payload = item.payload
    context = {
        **payload["vars"],
        "site_name": payload["site_name"],
        "unsubscribe_url": payload.get("unsubscribe_url"),
    }
    template = payload["template"]
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = payload["to"]  # one reader per message: nobody sees another's address
    msg["Subject"] = payload["subject"]
    msg["Date"] = formatdate(item.created_at.timestamp(), usegmt=True)
    msg["Message-ID"] = message_id(item, settings)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    unsubscribe = payload.get("unsubscribe_url")
    if unsubscribe:
        # RFC 8058 one-click: a POST of `List-Unsubscribe=One-Click` to this URL unsubscribes.
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(_env.get_template(f"email_{template}.txt").render(context))
    msg.add_alternative(_env.get_template(f"email_{template}.html").render(context),
                        subtype="html")
    return msg
