"""A Mailer that prints messages instead of sending them (development; no REJOINDER_SMTP_URL)."""

from __future__ import annotations

import logging
import sys
import threading
from email.message import EmailMessage
from typing import TextIO

log = logging.getLogger("rejoinder.mail")


class ConsoleMailer:
    """Writes each message, as it would go on the wire, to a stream (stderr by default).

    Not a log: the message holds a reader's address and text, which logs never carry.
    """

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stderr
        with self._lock:
            stream.write(f"----- mail (not sent: no REJOINDER_SMTP_URL) -----\n{message}\n")
            stream.flush()
        log.info("mail printed to console message_id=%s", message["Message-ID"])
