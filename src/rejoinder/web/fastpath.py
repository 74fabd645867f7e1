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

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from rejoinder.domain.comments import SortOrder
from rejoinder.domain.errors import DomainError, RateLimited
from rejoinder.domain.text import check_slug, clean_thread_key
from rejoinder.ratelimit import RateLimiter
from rejoinder.services import comments as svc
from rejoinder.services.context import Services
from rejoinder.web.api.schemas import PostCommentIn
from rejoinder.web.errors import INTERNAL_ERROR, domain_error_parts
from rejoinder.web.middleware import (
    API_CSP,
    LATENCY,
    REQUESTS,
    SECURITY_HEADERS,
    cors_headers,
    replay_body,
)

log = logging.getLogger("rejoinder.web")
_SORTS = {s.value for s in SortOrder}
# What Observe adds to every API response (SiteCors adds cors_headers for a site's origin).
_HEADERS = [(b"content-type", b"application/json"), *SECURITY_HEADERS,
            (b"content-security-policy", API_CSP)]
_ROUTES = ("/api/v1/comments", "/api/v1/counts")
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a request's Origin is the server it was sent to (a page of ours, like /demo).

    A browser sets both headers itself: Origin to the page's origin, Host to where it sends the
    request. A client outside a browser can forge either, but such a client is not what the
    origin list guards against (it can forge Origin just as well)."""
    if not origin or not host or "://" not in origin:
        return False
    netloc = origin.split("://", 1)[1]
    return netloc.lower() == host.strip().lower()


def api_headers(origin: bytes | None, origins: frozenset[str]) -> list[tuple[bytes, bytes]]:
    """What the middleware adds to an API answer: security headers and the API's CSP
    (Observe), CORS for a site's origin (SiteCors)."""
    if origin is None or origin.decode("latin-1") not in origins:
        return _HEADERS
    return [*_HEADERS, *cors_headers(origin)]


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
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        headers = api_headers(origin, self.origins())
        status = 200
        try:
            if self.limiter.enabled:
                self.limiter.check("read", self._ip(scope))
        except RateLimited as exc:
            status, payload, extra = domain_error_parts(exc)
            body = orjson.dumps(payload)
            headers = [*headers, *_encoded(extra)]
            self._limited[path].inc()
        else:
            self._ok[path].inc()
        self._latency[path].observe(time.perf_counter() - started)
        return status, [*headers, (b"content-length", str(len(body)).encode())], body

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


class LeanPosts:
    """POST /api/v1/comments for a well-formed request, without the framework (ADR 0017).

    Posting spent about a third of its CPU in FastAPI and the middleware: routing through every
    route, dependency solving, the stack of `send` wrappers, the JSON response. A post whose
    body is JSON within the size limit and validates against the same model (`PostCommentIn`)
    is handled here: the same rate limits, the same service call, the same error shapes and
    headers (security, CSP, CORS for a site's origin) and the same metrics. Anything else (no
    or another content type, chunked or oversized, invalid JSON or fields) goes down the full
    stack with its body replayed, where it gets the documented 4xx. tests/integration/
    test_lean_posts.py sends the same requests both ways and compares the answers.
    """

    ROUTE = "/api/v1/comments"

    def __init__(self, services: Services, limiter: RateLimiter,
                 origins: Callable[[], frozenset[str]], max_bytes: int) -> None:
        self.services = services
        self.limiter = limiter
        self.origins = origins
        self.max_bytes = max_bytes
        self._latency = LATENCY.labels(self.ROUTE)
        self._counted: dict[int, Any] = {}

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer and return None, or return the `receive` to hand to the full stack."""
        ctype = origin = auth = idem = length = forwarded = host = None
        for name, value in scope["headers"]:
            if name == b"content-type" and ctype is None:
                ctype = value
            elif name == b"content-length" and length is None:
                length = value
            # The first of a repeated header, as Starlette's `headers.get` and SiteCors take it.
            elif name == b"origin" and origin is None:
                origin = value
            elif name == b"authorization" and auth is None:
                auth = value
            elif name == b"idempotency-key" and idem is None:
                idem = value
            elif name == b"x-forwarded-for" and forwarded is None:
                forwarded = value
            elif name == b"host" and host is None:
                host = value
        if (ctype is None or ctype.split(b";")[0].strip().lower() != b"application/json"
                or length is None or not length.isdigit() or int(length) > self.max_bytes
                or (idem is not None and len(idem) > 200)):
            return receive
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None  # the client has gone: nobody to answer (as BodyLimit does)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replay = replay_body(body, receive)
        if len(body) > self.max_bytes:
            return replay
        try:
            data = PostCommentIn.model_validate_json(body)
        except ValidationError:
            return replay
        started = time.perf_counter()
        peer = scope["client"][0] if scope.get("client") else "unknown"
        client = svc.Client(
            ip=client_ip(peer, forwarded.decode("latin-1") if forwarded else None,
                         self.services.settings.trusted_proxies),
            origin=origin.decode("latin-1") if origin is not None else None,
            bearer=bearer_token(auth.decode("latin-1") if auth is not None else None),
            idempotency_key=idem.decode("latin-1") if idem else None,
            same_origin=same_origin(origin.decode("latin-1") if origin is not None else None,
                                    host.decode("latin-1") if host is not None else None))
        extra: dict[str, str] = {}
        try:
            self.limiter.check("post", client.ip)
            self.limiter.check("post_site", data.site)
            result = await run_in_threadpool(svc.post_comment, self.services, data.command(),
                                             client)
        except DomainError as exc:
            status, payload, extra = domain_error_parts(exc)
        except Exception as exc:  # a bug of ours: as the app's handler does (errors.py)
            log.exception("unhandled error: %s", type(exc).__name__)
            status, payload = 500, INTERNAL_ERROR
        else:
            status = 201 if result.created else 200
            payload = result.to_json()
        out = orjson.dumps(payload)
        headers = [*api_headers(origin, self.origins()), *_encoded(extra),
                   (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
        counter = self._counted.get(status)
        if counter is None:
            counter = self._counted[status] = REQUESTS.labels("POST", self.ROUTE, str(status))
        counter.inc()
        self._latency.observe(time.perf_counter() - started)
        return None


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


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

