"""HTTP face of the Perspective-compatible service (issue 9, ADR 0011).

`POST /v1alpha1/comments:analyze?key=KEY` and `POST /v1alpha1/comments:suggestscore?key=KEY`,
answered in Perspective's shapes, errors included, so that Coral or Comentario only change their
endpoint URL. Not part of the widget API: kept out of /api/v1 and its OpenAPI document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder.config import Settings
from rejoinder.moderation.registry import load_classifier
from rejoinder.perspective.service import REQUESTS, KeyQuota, PerspectiveService
from rejoinder.perspective.wire import PerspectiveError
from rejoinder.services.ports import Classifier
from rejoinder.storage.engine import Database
from rejoinder.storage.perspective import ApiKey, PerspectiveStore

router = APIRouter(include_in_schema=False)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json; charset=UTF-8")


async def _handle(request: Request, method: str,
                  work: Callable[[PerspectiveService, ApiKey, Any], Awaitable[dict[str, Any]]]
                  ) -> Response:
    service: PerspectiveService = request.app.state.perspective
    key_name = "-"
    try:
        key = service.authenticate(request.query_params.get("key")
                                   or request.headers.get("x-goog-api-key"))
        key_name = key.name
        service.quota.hit(key)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise PerspectiveError(400, "Invalid JSON payload received.") from exc
        answer = await work(service, key, body)
    except PerspectiveError as exc:
        REQUESTS.labels(key_name, method, str(exc.code)).inc()
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return _json(exc.code, exc.body(), headers)
    REQUESTS.labels(key_name, method, "200").inc()
    return _json(200, answer)


@router.post("/v1alpha1/comments:analyze")
async def analyze(request: Request) -> Response:
    async def work(service: PerspectiveService, key: ApiKey, body: Any) -> dict[str, Any]:
        return await service.analyze(key, body)

    return await _handle(request, "analyze", work)


@router.post("/v1alpha1/comments:suggestscore")
async def suggestscore(request: Request) -> Response:
    async def work(service: PerspectiveService, key: ApiKey, body: Any) -> dict[str, Any]:
        # A database write: off the event loop.
        return await run_in_threadpool(service.suggest, key, body)

    return await _handle(request, "suggestscore", work)


def install(app: FastAPI, settings: Settings, db: Database, classifier: Classifier,
            now: Callable[[], Any]) -> PerspectiveService:
    """Mount the routes and build the service. `REJOINDER_PERSPECTIVE_BACKEND` may pick a
    different (e.g. faster) classifier than the one that scores posted comments."""
    if settings.perspective_backend:
        classifier = load_classifier(settings.perspective_backend)
    service = PerspectiveService(PerspectiveStore(db), classifier,
                                 quota=KeyQuota(settings.redis_url), now=now,
                                 timeout_s=settings.moderation_timeout_s)
    app.state.perspective = service
    app.include_router(router)
    return service


def create_moderation_app(settings: Settings) -> FastAPI:
    """`rejoinder serve --moderation-only`: just this service, `/healthz` and `/metrics`."""
    from contextlib import asynccontextmanager
    from datetime import UTC, datetime

    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from sqlalchemy import text

    from rejoinder.web.middleware import BodyLimit, Observe

    db = Database(settings.resolved_database_url)
    classifier = load_classifier(settings.perspective_backend or settings.moderation_backend)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()
        db.dispose()

    app = FastAPI(title="Rejoinder moderation (Perspective-compatible)", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    service = install(app, settings.model_copy(update={"perspective_backend": ""}), db,
                      classifier, lambda: datetime.now(UTC))

    @app.get("/healthz")
    def healthz() -> Response:
        try:
            with db.reader.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return _json(503, {"status": "unavailable", "database": "down"}, {"Retry-After": "5"})
        return _json(200, {"status": "ok", "database": "ok", "moderation": classifier.name})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Observe)
    return app
