"""Signed webhooks: POST an event to the publisher's URL, signed with the site's secret.

Headers: `X-Rejoinder-Event` (the type), `X-Rejoinder-Delivery` (the event id, the same on every
retry), `X-Rejoinder-Timestamp` (Unix seconds at sending) and `X-Rejoinder-Signature:
sha256=<hex>`, the HMAC-SHA256 under the site's `webhook_secret` of `<timestamp>.<body>`.
Receivers recompute it, compare in constant time, and refuse timestamps more than a few
minutes old (replays).

Uses the standard library's HTTP client (no extra runtime dependency); redirects are not
followed, so a signed event goes only to the URL the publisher configured.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from rejoinder import __version__
from rejoinder.notifications.emails import DeliveryError


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-Rejoinder-Signature for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then surfaces as an HTTPError: retried, never followed


class WebhookSender:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, url: str, secret: str, event: dict[str, Any], now: datetime) -> None:
        """POST `event`; returns on a 2xx answer, raises DeliveryError otherwise."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise DeliveryError("webhook_url must be http(s)", permanent=True)
        body = orjson.dumps(event)
        timestamp = str(int(now.timestamp()))
        request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310  # scheme checked above
            "Content-Type": "application/json",
            "User-Agent": f"Rejoinder/{__version__} (webhook)",
            "X-Rejoinder-Event": str(event.get("type", "")),
            "X-Rejoinder-Delivery": str(event.get("id", "")),
            "X-Rejoinder-Timestamp": timestamp,
            "X-Rejoinder-Signature": sign(secret, timestamp, body),
        })
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryError(f"HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:  # refused, timed out, TLS, bad URL
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
