"""Pure ASGI middleware (cheap on the hot path): body limits, CORS per site, headers, metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("rejoinder_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "rejoinder_http_request_seconds", "HTTP request latency", ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    b" connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# On every response (Observe), and from constants on the cached-read path (web/fastpath.py).
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin")]


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """What an API response carries for a site's origin (SiteCors, and the cached-read path)."""
    return [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
            (b"access-control-expose-headers", b"retry-after")]


def _error(status: int, code: str, message: str) -> tuple[Message, Message]:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return (
        {"type": "http.response.start", "status": status,
         "headers": [(b"content-type", b"application/json"),
                     (b"content-length", str(len(body)).encode())]},
        {"type": "http.response.body", "body": body},
    )


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413, whether announced by Content-Length or not."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    for m in _error(413, "too_large", f"request body over {self.max_bytes} bytes"):
                        await send(m)
                    return
        # Read the whole body first (it is small by definition), so an oversized chunked upload
        # is refused before any handler runs, and handlers never see a partial body.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                for m in _error(413, "too_large", f"request body over {self.max_bytes} bytes"):
                    await send(m)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay_body(b"".join(chunks), receive), send)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over a body already read, then defers to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class SiteCors:
    """CORS for the API: an origin is allowed if some site lists it (each site checks its own)."""

    ALLOW_HEADERS = b"content-type, authorization, idempotency-key, x-rejoinder-voter, last-event-id"
    ALLOW_METHODS = b"GET, POST, PATCH, DELETE, OPTIONS"

    def __init__(self, app: ASGIApp, origins: Callable[[], frozenset[str]]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        allowed = origin is not None and origin.decode("latin-1") in self.origins()
        if scope["method"] == "OPTIONS" and origin is not None:
            headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
            if allowed:
                headers += [
                    (b"access-control-allow-origin", origin),
                    (b"access-control-allow-methods", self.ALLOW_METHODS),
                    (b"access-control-allow-headers", self.ALLOW_HEADERS),
                    (b"access-control-max-age", b"600"),
                ]
            await send({"type": "http.response.start", "status": 204 if allowed else 403,
                        "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed or origin is None:
            await self.app(scope, receive, send)
            return
        extra = cors_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *extra]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)


class Observe:
    """Security headers on every response, and request counts and latency for /metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        path: str = scope["path"]
        is_page = not (path.startswith("/api/") or path in ("/embed.js", "/metrics", "/healthz"))

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                names = {k for k, _ in headers}
                headers += SECURITY_HEADERS
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP if is_page else API_CSP))
                if is_page:
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route: Any = scope.get("route")
            name = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], name, str(status)).inc()
            LATENCY.labels(name).observe(time.perf_counter() - started)
