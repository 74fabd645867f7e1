"""create_app(settings) -> the ASGI application. Wiring only: no rules live here."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from rejoinder import __version__
from rejoinder.config import Settings, load_settings
from rejoinder.events import LocalEventBus, RedisEventBus
from rejoinder.moderation.registry import load_classifier
from rejoinder.notifications.outbox import start_outbox_worker
from rejoinder.ratelimit import RateLimiter
from rejoinder.services.cache import ThreadCache
from rejoinder.services.context import Services
from rejoinder.services.demo import ensure_demo
from rejoinder.services.ports import Classifier
from rejoinder.services.sites import all_origins
from rejoinder.storage.engine import Database
from rejoinder.storage.epoch import EpochWatcher
from rejoinder.storage.uow import SqlUnitOfWork
from rejoinder.web import errors, moderation, pages
from rejoinder.web import notifications as notification_pages
from rejoinder.web import perspective as perspective_api
from rejoinder.web.api import accounts as _accounts_routes  # noqa: F401  # registers routes
from rejoinder.web.api.routes import router as api_router
from rejoinder.web.fastpath import CachedReads, LeanPosts
from rejoinder.web.middleware import BodyLimit, Observe, SiteCors

log = logging.getLogger("rejoinder")


class RejoinderApp(FastAPI):
    """FastAPI, with cached reads answered before the middleware stack (see web/fastpath.py)."""

    fast_reads: CachedReads | None = None
    lean_posts: LeanPosts | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if (method == "GET" and self.fast_reads is not None
                    and await self.fast_reads.serve(scope, send)):
                return
            if (method == "POST" and self.lean_posts is not None
                    and scope["path"] == LeanPosts.ROUTE):
                rest = await self.lean_posts.serve(scope, receive, send)
                if rest is None:
                    return
                receive = rest
        await super().__call__(scope, receive, send)


def build_services(
    settings: Settings, db: Database, classifier: Classifier | None = None
) -> Services:
    cache = ThreadCache()

    def invalidate(site: str, thread: str) -> None:
        if site == "*":
            cache.clear()
        else:
            cache.invalidate(site, thread)

    events: LocalEventBus = (
        RedisEventBus(settings.redis_url, invalidate) if settings.redis_url else LocalEventBus()
    )
    if int(os.environ.get("REJOINDER_WORKERS", "1")) > 1 and not settings.redis_url:
        # Several processes and nobody to tell them of each other's writes: no page cache.
        cache.enabled = False
    return Services(
        settings=settings,
        uow=SqlUnitOfWork(db),
        classifier=classifier or load_classifier(settings.moderation_backend),
        events=events,
        cache=cache,
    )


def create_app(settings: Settings, *, classifier: Classifier | None = None) -> FastAPI:
    db = Database(settings.resolved_database_url)
    services = build_services(settings, db, classifier)
    origins_cache: dict[str, object] = {"at": 0.0, "value": frozenset()}

    def origins() -> frozenset[str]:
        # Sites change rarely; re-read the allowed origins at most every 5 seconds.
        now = time.monotonic()
        if now - float(origins_cache["at"]) > 5:  # type: ignore[arg-type]
            try:
                origins_cache["value"] = all_origins(services)
            except Exception:  # database down: keep the last known list
                log.warning("could not refresh allowed origins")
            origins_cache["at"] = now
        value: frozenset[str] = origins_cache["value"]  # type: ignore[assignment]
        return value

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.events.bind(asyncio.get_running_loop())  # type: ignore[attr-defined]
        if ensure_demo(services):
            origins_cache["at"] = 0.0
        outbox = app.state.outbox = start_outbox_worker(services, db)  # mail, webhooks after commit
        # CLI commands that write directly (import, site set) reach our cache this way (ADR 0013).
        epoch = app.state.epoch = EpochWatcher(db, services.cache.clear)
        epoch.start()
        yield
        epoch.stop()
        outbox.stop()
        app.state.perspective.close()
        close = getattr(services.events, "close", None)
        if close:
            close()
        services.scoring_pool.shutdown(wait=False, cancel_futures=True)
        db.dispose()

    app = RejoinderApp(
        title="Rejoinder",
        version=__version__,
        description="Comments for news sites and blogs, with offline moderation.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.services = services
    app.state.db = db
    app.state.limiter = RateLimiter(
        {
            "post": settings.rate_limit_post,
            "post_site": settings.rate_limit_post_site,
            "vote": settings.rate_limit_vote,
            "read": settings.rate_limit_read,
            "auth": settings.rate_limit_auth,
        },
        enabled=settings.rate_limits,
        redis_url=settings.redis_url,
    )
    errors.install(app)
    app.include_router(api_router)
    app.include_router(pages.router)
    app.include_router(notification_pages.router)  # issue 4: confirm and unsubscribe pages
    app.include_router(moderation.router)  # issue 4: moderator pages and /static
    # issue 9: Perspective-compatible /v1alpha1/comments:analyze for Coral and Comentario
    perspective_api.install(app, settings, db, services.classifier, lambda: services.now())
    app.fast_reads = CachedReads(services, app.state.limiter, origins)
    app.lean_posts = LeanPosts(services, app.state.limiter, origins, settings.max_body_bytes)
    app.add_middleware(SiteCors, origins=origins)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Observe)
    return app


def settle_heap() -> None:
    """Move everything alive now (models, tokenizer, SQLAlchemy metadata, templates) out of the
    cycle collector's sight, once the server is built and before it serves.

    A full collection scans every tracked object: measured at ~90 ms for this server's 140,000
    objects, a pause that every request in flight waits out, and the cause of the 50-170 ms
    p99 spikes seen under wrk. Those objects live as long as the process, so scanning them finds
    nothing; `gc.freeze()` (the CPython recipe for servers) leaves collections to what requests
    allocate. Only for `serve`: test processes build many apps and should collect them.
    """
    gc.collect()
    gc.freeze()


def serving_app(settings: Settings, *, moderation_only: bool = False) -> FastAPI:
    """The app `rejoinder serve` runs (one process, or each worker): built, then heap settled."""
    app = (perspective_api.create_moderation_app(settings) if moderation_only  # issue 9
           else create_app(settings))
    settle_heap()
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `rejoinder serve --workers N`)."""
    return serving_app(load_settings(),
                       moderation_only=os.environ.get("REJOINDER_MODERATION_ONLY") == "1")
