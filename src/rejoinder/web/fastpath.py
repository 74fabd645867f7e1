"""The hot read path: serve cached thread pages and counts straight from ASGI.

A cached page needs no routing, dependency injection or validation framework: parse the query
string, find the bytes, send them. Anything unusual (a miss, a missing or odd parameter) falls
through to the FastAPI route, which validates and answers exactly as documented. ADR 0002.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from rejoinder.domain.comments import SortOrder
from rejoinder.domain.errors import DomainError, RateLimited
from rejoinder.domain.text import check_slug, clean_thread_key
from rejoinder.ratelimit import RateLimiter
from rejoinder.services.context import Services

_SORTS = {s.value for s in SortOrder}
_JSON = [(b"content-type", b"application/json")]


def client_ip(peer: str, forwarded_for: str | None, trusted_proxies: list[str]) -> str:
    """The client address: the peer, or what our own trusted proxy says it saw."""
    if peer in trusted_proxies and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if hops:
            return hops[-1]  # the hop our proxy added; earlier ones are client-supplied
    return peer


class CachedReads:
    def __init__(self, app: ASGIApp, services: Services, limiter: RateLimiter) -> None:
        self.app = app
        self.services = services
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path == "/api/v1/comments":
                body = self._thread(scope)
            elif path == "/api/v1/counts":
                body = self._counts(scope)
            else:
                body = None
            if body is not None:
                try:
                    self.limiter.check("read", self._ip(scope))
                except RateLimited as exc:
                    await _respond(send, 429, orjson.dumps(
                        {"error": {"code": exc.code, "message": exc.message}}),
                        [(b"retry-after", str(exc.retry_after).encode())])
                    return
                await _respond(send, 200, body)
                return
        await self.app(scope, receive, send)

    def _ip(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "unknown"
        fwd = next((v.decode("latin-1") for k, v in scope["headers"]
                    if k == b"x-forwarded-for"), None)
        return client_ip(peer, fwd, self.services.settings.trusted_proxies)

    def _thread(self, scope: Scope) -> bytes | None:
        q = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        site, thread = q.get("site"), q.get("thread")
        sort = q.get("sort", "oldest")
        limit = q.get("limit", "50")
        if not site or not thread or sort not in _SORTS or not limit.isdigit():
            return None
        try:
            key = clean_thread_key(thread)
        except DomainError:
            return None
        variant = f"{sort}|{int(limit)}|{q.get('cursor', '')}"
        return self.services.cache.get(site, key, variant)

    def _counts(self, scope: Scope) -> bytes | None:
        pairs = parse_qsl(scope["query_string"].decode("latin-1"))
        site = next((v for k, v in pairs if k == "site"), None)
        keys = [v for k, v in pairs if k == "thread"]
        if not site or not keys or len(keys) > 200:
            return None
        try:
            check_slug(site)
            clean = [clean_thread_key(k) for k in keys]
        except DomainError:
            return None
        counts = self.services.cache.counts(site, clean)
        return orjson.dumps({"counts": counts}) if counts is not None else None


async def _respond(send: Send, status: int, body: bytes,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
