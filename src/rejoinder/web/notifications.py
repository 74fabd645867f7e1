"""Readers' notification pages: confirm a subscription, unsubscribe (RFC 8058 one-click).

The token in the URL is the only credential (no session, so no CSRF token): confirmation tokens
are random and stored hashed; unsubscribe tokens are signed (`services.notify.verify_signed_link`).
GETs never change anything, so mail scanners that open links confirm and unsubscribe nobody;
the pages carry a POST form instead. A POST to the unsubscribe URL, such as the one-click
`List-Unsubscribe=One-Click` that mail providers send, unsubscribes with no further step.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder.services import notify
from rejoinder.services.context import Services
from rejoinder.web.pages import templates

router = APIRouter(prefix="/subscriptions", include_in_schema=False)
Token = Annotated[str, Query(min_length=8, max_length=200)]
NO_STORE = {"Cache-Control": "no-store"}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _page(request: Request, name: str, token: str, view: notify.SubscriptionView | None,
          **extra: object) -> Response:
    context = {"view": view, "token": token, "done": False, "everything": False, **extra}
    return templates.TemplateResponse(request, f"notifications/{name}.html", context,
                                      status_code=200 if view else 404, headers=NO_STORE)


@router.get("/confirm")
async def confirm_page(request: Request, token: Token) -> Response:
    view = await run_in_threadpool(notify.confirm_view, _services(request), token)
    return _page(request, "confirm", token, view)


@router.post("/confirm")
async def confirm(request: Request, token: Token) -> Response:
    view = await run_in_threadpool(notify.confirm, _services(request), token)
    return _page(request, "confirm", token, view, done=True)


@router.get("/unsubscribe")
async def unsubscribe_page(request: Request, token: Token) -> Response:
    view = await run_in_threadpool(notify.unsubscribe_view, _services(request), token)
    return _page(request, "unsubscribe", token, view)


@router.post("/unsubscribe")
async def unsubscribe(request: Request, token: Token) -> Response:
    """RFC 8058: any POST here unsubscribes (its body is `List-Unsubscribe=One-Click`)."""
    form = await request.form()
    everything = form.get("everything") == "1"
    view = await run_in_threadpool(
        lambda: notify.unsubscribe(_services(request), token, everything=everything)
    )
    return _page(request, "unsubscribe", token, view, done=True, everything=everything)
