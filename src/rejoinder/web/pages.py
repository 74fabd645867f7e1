"""Pages and plain endpoints: the demo article, the no-JS thread page, embed.js, health, metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from rejoinder.domain.comments import SortOrder
from rejoinder.domain.text import check_slug, clean_thread_key
from rejoinder.services import comments as svc
from rejoinder.services.context import Services
from rejoinder.services.demo import DEMO_THREAD

WEB = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB / "templates"))  # autoescape on for .html
router = APIRouter(include_in_schema=False)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    db = request.app.state.db
    try:
        with db.reader.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503,
                            headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok", "database": "ok",
                         "moderation": _services(request).classifier.name})


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/embed.js")
def embed_js() -> Response:
    path = WEB / "static" / "embed.js"
    if not path.exists():
        return Response("/* widget not built */", media_type="text/javascript")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300",
                                 "Access-Control-Allow-Origin": "*",
                                 "Cross-Origin-Resource-Policy": "cross-origin"})


@router.get("/demo", response_class=HTMLResponse)
def demo(request: Request) -> Response:
    services = _services(request)
    return templates.TemplateResponse(request, "demo.html", {
        "public_url": services.settings.public_url, "site": "demo", "thread": DEMO_THREAD,
    })


@router.get("/sites/{site}/threads", response_class=HTMLResponse)
async def thread_page(
    request: Request, site: str, thread: Annotated[str, Query(max_length=512)],
    sort: SortOrder = SortOrder.OLDEST,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """The thread as plain HTML, for readers without JavaScript (and for search engines), 200
    top-level comments a page with a link to the next page (the API's cursor)."""
    check_slug(site)
    key = clean_thread_key(thread)
    services = _services(request)
    page = await run_in_threadpool(svc.read_thread, services, site, key, sort, 200, cursor)
    data = orjson.loads(page)
    return templates.TemplateResponse(request, "thread.html", {
        "site": site, "data": data, "sort": sort.value,
    })
