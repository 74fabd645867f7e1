"""The hot read path: serve cached thread pages and counts straight from ASGI.

A cached page needs no routing, dependency injection or validation framework: parse the query
string, find the bytes, send them. Anything unusual (a miss, a missing or odd parameter) falls
through to the FastAPI route, which validates and answers exactly as documented. ADR 0002.

It runs in front of the whole middleware stack (`RejoinderApp.__call__`), not inside it: a
profile of cached reads under wrk showed a third of the server's time in the layers a hit does
not need (FastAPI's wrappers, Starlette's error middleware, our CORS, body-limit and metrics
middleware, each wrapping `send` in a closure). So a hit adds here, from constants, exactly the
headers those layers would have added (security headers, CORS for an allowed origin) and counts
itself in the same Prometheus series. tests/integration/test_security.py checks the headers of
every GET route, cached or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Scope, Send

from rejoinder.domain.comments import SortOrder
from rejoinder.domain.errors import DomainError, RateLimited
from rejoinder.domain.text import check_slug, clean_thread_key
from rejoinder.ratelimit import RateLimiter
from rejoinder.services.context import Services
from rejoinder.web.middleware import (
    API_CSP,
    LATENCY,
    REQUESTS,
    SECURITY_HEADERS,
    cors_headers,
)

_SORTS = {s.value for s in SortOrder}
# What Observe adds to every API response (SiteCors adds cors_headers for a site's origin).
_HEADERS = [(b"content-type", b"application/json"), *SECURITY_HEADERS,
            (b"content-security-policy", API_CSP)]
_ROUTES = ("/api/v1/comments", "/api/v1/counts")
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def client_ip(peer: str, forwarded_for: str | None, trusted_proxies: list[str]) -> str:
    """The client address: the peer, or what our own trusted proxy says it saw."""
    if peer in trusted_proxies and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if hops:
            return hops[-1]  # the hop our proxy added; earlier ones are client-supplied
    return peer


class CachedReads:
    """Answers a GET of a cached thread page or of cached counts; anything else is not ours."""

    def __init__(self, services: Services, limiter: RateLimiter,
                 origins: Callable[[], frozenset[str]]) -> None:
        self.services = services
        self.limiter = limiter
        self.origins = origins
        # Bound once: `labels()` looks the child up under a lock on every call.
        self._ok = {r: REQUESTS.labels("GET", r, "200") for r in _ROUTES}
        self._limited = {r: REQUESTS.labels("GET", r, "429") for r in _ROUTES}
        self._latency = {r: LATENCY.labels(r) for r in _ROUTES}
        self._thread_queries: dict[bytes, tuple[str, str, str] | None] = {}
        self._count_queries: dict[bytes, tuple[str, list[str]] | None] = {}
        # The encoded counts answer per query, valid while the cache's version has not moved.
        self._count_bodies: dict[bytes, tuple[int, bytes]] = {}

    async def serve(self, scope: Scope, send: Send) -> bool:
        """Send the cached answer and return True, or return False (nothing sent) on a miss."""
        answer = self.answer(scope)
        if answer is None:
            return False
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def answer(self, scope: Scope) -> Answer | None:
        """The cached answer (status, headers with content-length, body), counted in the
        metrics; None on a miss. Also called by the HTTP protocol itself (web/server.py)."""
        started = time.perf_counter()
        path = scope["path"]
        if path == "/api/v1/comments":
            body = self._thread(scope)
        elif path == "/api/v1/counts":
            body = self._counts(scope)
        else:
            return None
        if body is None:
            return None
        headers = self._headers(scope)
        status = 200
        try:
            if self.limiter.enabled:
                self.limiter.check("read", self._ip(scope))
        except RateLimited as exc:
            status = 429
            body = orjson.dumps({"error": {"code": exc.code, "message": exc.message}})
            headers = [*headers, (b"retry-after", str(exc.retry_after).encode())]
            self._limited[path].inc()
        else:
            self._ok[path].inc()
        self._latency[path].observe(time.perf_counter() - started)
        return status, [*headers, (b"content-length", str(len(body)).encode())], body

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None or origin.decode("latin-1") not in self.origins():
            return _HEADERS
        return [*_HEADERS, *cors_headers(origin)]

    def _ip(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "unknown"
        fwd = next((v.decode("latin-1") for k, v in scope["headers"]
                    if k == b"x-forwarded-for"), None)
        return client_ip(peer, fwd, self.services.settings.trusted_proxies)

    def _thread(self, scope: Scope) -> bytes | None:
        qs: bytes = scope["query_string"]
        parsed = self._thread_queries.get(qs, _UNSEEN)
        if parsed is _UNSEEN:
            parsed = self._thread_queries[qs] = _parse_thread_query(qs)
            _bound(self._thread_queries)
        if parsed is None:
            return None
        site, key, variant = parsed
        return self.services.cache.get(site, key, variant)

    def _counts(self, scope: Scope) -> bytes | None:
        qs: bytes = scope["query_string"]
        cache = self.services.cache
        known = self._count_bodies.get(qs)
        if known is not None and known[0] == cache.version:
            return known[1]
        parsed = self._count_queries.get(qs, _UNSEEN)
        if parsed is _UNSEEN:
            parsed = self._count_queries[qs] = _parse_counts_query(qs)
            _bound(self._count_queries)
        if parsed is None:
            return None
        version = cache.version  # read before the counts: a later write makes this entry stale
        counts = cache.counts(*parsed)
        if counts is None:
            return None
        body = orjson.dumps({"counts": counts})
        self._count_bodies[qs] = (version, body)
        _bound(self._count_bodies)
        return body


# Parsed query strings are pure functions of the bytes, so they are remembered (a viral article's
# readers all send the same few); bounded so that odd queries cannot grow memory.
_UNSEEN: Any = object()
_MEMO_MAX = 4096


def _bound(memo: dict[Any, Any]) -> None:
    if len(memo) > _MEMO_MAX:
        memo.clear()


def _parse_thread_query(qs: bytes) -> tuple[str, str, str] | None:
    q = dict(parse_qsl(qs.decode("latin-1")))
    site, thread = q.get("site"), q.get("thread")
    sort = q.get("sort", "oldest")
    limit = q.get("limit", "50")
    if not site or not thread or sort not in _SORTS or not limit.isdigit():
        return None
    try:
        key = clean_thread_key(thread)
    except DomainError:
        return None
    return site, key, f"{sort}|{int(limit)}|{q.get('cursor', '')}"


def _parse_counts_query(qs: bytes) -> tuple[str, list[str]] | None:
    pairs = parse_qsl(qs.decode("latin-1"))
    site = next((v for k, v in pairs if k == "site"), None)
    keys = [v for k, v in pairs if k == "thread"]
    if not site or not keys or len(keys) > 200:
        return None
    try:
        check_slug(site)
        return site, [clean_thread_key(k) for k in keys]
    except DomainError:
        return None

