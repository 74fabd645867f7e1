"""Routes of the moderator pages: parse forms, check the session and CSRF, call one use case.

Plain HTML forms (POST + CSRF token, 303 redirect back) so everything works without JavaScript;
`moderation.js` only adds keyboard shortcuts and fetch-based approve/reject, which ask for JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from rejoinder import __version__
from rejoinder.domain import errors as e
from rejoinder.services import moderator as svc
from rejoinder.services import moderator_settings as settings_svc
from rejoinder.services.context import Services
from rejoinder.services.moderator_stats import dashboard as build_dashboard
from rejoinder.storage.moderator_queries import ModeratorUnitOfWork
from rejoinder.web import errors as web_errors
from rejoinder.web.moderation import charts
from rejoinder.web.moderation import session as sess

WEB = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(WEB / "templates"))  # autoescape on for .html
DONE = {"approve": "Approved", "reject": "Rejected", "ban_author": "Rejected and banned",
        "shadow_ban": "Rejected and shadow-banned", "undo": "Undid", "settings": "Saved settings",
        "close_thread": "Closed the thread", "reopen_thread": "Reopened the thread"}


class PageRoute(APIRoute):
    """Domain errors become HTML pages here (JSON for fetch); anonymous GETs go to sign-in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except e.DomainError as exc:
                return _error_page(request, exc)

        return guarded


router = APIRouter(include_in_schema=False, route_class=PageRoute)
router.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")


def _status(exc: e.DomainError) -> int:
    return next((web_errors.STATUS[c] for c in type(exc).__mro__ if c in web_errors.STATUS), 400)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _error_page(request: Request, exc: e.DomainError) -> Response:
    status = _status(exc)
    if _wants_json(request):
        return web_errors.error_response(status, exc.code, exc.message)
    if status == 401 and request.method == "GET":
        return RedirectResponse("/moderation/login", status_code=303)
    return templates.TemplateResponse(request, "moderation/error.html", {
        "status": status, "message": exc.message, "mod": None, "csrf": "",
    }, status_code=status)


# -- context ---------------------------------------------------------------------------------
def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _uow(request: Request) -> ModeratorUnitOfWork:
    uow: ModeratorUnitOfWork | None = getattr(request.app.state, "moderator_uow", None)
    if uow is None:
        uow = request.app.state.moderator_uow = ModeratorUnitOfWork(request.app.state.db)
    return uow


def _secret(request: Request) -> str:
    return _services(request).settings.secret_key


def _now_s(request: Request) -> int:
    return int(_services(request).now().timestamp())


def _session(request: Request) -> sess.Session | None:
    return sess.read_session(_secret(request), request.cookies.get(sess.COOKIE), _now_s(request))


async def _moderator(request: Request, site: str, *, admin: bool = False
                     ) -> tuple[svc.Moderator, sess.Session]:
    session = _session(request)
    mod = None
    if session is not None:
        mod = await run_in_threadpool(svc.resume, _uow(request), session.token_id,
                                      session.site_id, session.role)
    checked = svc.authorize(mod, site, admin=admin)
    assert session is not None
    return checked, session


async def _post(request: Request, site: str, *, admin: bool = False
                ) -> tuple[svc.Moderator, sess.Session, FormData]:
    """A signed-in moderator's form, refused (403) unless its CSRF token matches the session."""
    mod, session = await _moderator(request, site, admin=admin)
    form = await request.form()
    if not sess.check_csrf(_secret(request), session.nonce, form.get("csrf")):
        raise e.Forbidden("the form has expired or did not come from this site; reload the page",
                          code="bad_csrf")
    return mod, session, form


def _page(request: Request, name: str, mod: svc.Moderator, session: sess.Session,
          context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, f"moderation/{name}", {
        "mod": mod, "site": mod.site, "csrf": sess.csrf_token(_secret(request), session.nonce),
        "version": __version__, "page": name.split(".")[0], **context,
    }, status_code=status)


def _back(url: str, action: str, n: int | None = None) -> RedirectResponse:
    query = f"?done={action}" + (f"&n={n}" if n is not None else "")
    return RedirectResponse(url + query, status_code=303)


def _done(request: Request) -> str | None:
    action = request.query_params.get("done", "")
    if action not in DONE:
        return None
    n = request.query_params.get("n", "")
    return f"{DONE[action]} {n} comment{'s' if n != '1' else ''}." if n.isdigit() else DONE[action]


# -- sign-in ---------------------------------------------------------------------------------
def _cookie(request: Request, response: Response, name: str, value: str, path: str,
            max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                        secure=_services(request).settings.public_url.startswith("https://"))


@router.get("/moderation", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    session = _session(request)
    mod = None
    if session is not None:
        mod = await run_in_threadpool(svc.resume, _uow(request), session.token_id,
                                      session.site_id, session.role)
    return RedirectResponse(f"/moderation/{mod.site.slug}" if mod else "/moderation/login",
                            status_code=303)


@router.get("/moderation/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    # Login CSRF: the form carries an HMAC of a nonce kept in a cookie (double submit).
    nonce = sess.new_session(0, 0, "", 0).nonce
    response = templates.TemplateResponse(request, "moderation/login.html", {
        "mod": None, "csrf": sess.csrf_token(_secret(request), nonce), "error": error,
    }, status_code=status)
    _cookie(request, response, sess.LOGIN_COOKIE, nonce, "/moderation/login", 3600)
    return response


@router.post("/moderation/login")
async def login(request: Request) -> Response:
    form = await request.form()
    if not sess.check_csrf(_secret(request), request.cookies.get(sess.LOGIN_COOKIE),
                           form.get("csrf")):
        raise e.Forbidden("the sign-in form has expired; reload it", code="bad_csrf")
    token = form.get("token")
    try:
        mod = await run_in_threadpool(svc.sign_in, _uow(request),
                                      token if isinstance(token, str) else "")
    except e.Unauthorized as exc:
        return login_form(request, exc.message, 401)
    session = sess.new_session(mod.token_id, mod.site.id, mod.role.value, _now_s(request))
    response = RedirectResponse(f"/moderation/{mod.site.slug}", status_code=303)
    _cookie(request, response, sess.COOKIE, sess.sign_session(_secret(request), session),
            "/moderation", sess.MAX_AGE_S)
    response.delete_cookie(sess.LOGIN_COOKIE, path="/moderation/login")
    return response


@router.post("/moderation/logout")
async def logout(request: Request) -> Response:
    session = _session(request)
    form = await request.form()
    if session is None or not sess.check_csrf(_secret(request), session.nonce, form.get("csrf")):
        raise e.Forbidden("the form has expired; reload the page", code="bad_csrf")
    response = RedirectResponse("/moderation/login", status_code=303)
    response.delete_cookie(sess.COOKIE, path="/moderation")
    return response


# -- the queue -------------------------------------------------------------------------------
@router.get("/moderation/{site}", response_class=HTMLResponse)
async def queue_page(request: Request, site: str, sort: str = "newest") -> Response:
    mod, session = await _moderator(request, site)
    sort = sort if sort in ("newest", "severe") else "newest"
    items = await run_in_threadpool(svc.queue, _uow(request), mod, sort=sort)
    return _page(request, "queue.html", mod, session, {
        "items": items, "sort": sort, "done": _done(request),
    })


@router.post("/moderation/{site}/decide")
async def decide(request: Request, site: str) -> Response:
    """One form for the whole queue: a row's button sends `decide=action:id`, the bulk buttons
    send `bulk=action` with the checked `ids`."""
    mod, _, form = await _post(request, site)
    one = str(form.get("decide") or "")
    if one:
        action, _, raw_id = one.partition(":")
        raw_ids = [raw_id]
    else:
        action = str(form.get("bulk") or "")
        raw_ids = [str(v) for v in form.getlist("ids")]
    if not all(r.isdigit() and len(r) < 19 for r in raw_ids):
        raise e.InvalidInput("comment ids must be numbers", code="invalid_id")
    outcome = await run_in_threadpool(svc.decide, _services(request), _uow(request), mod,
                                      [int(r) for r in raw_ids], action)
    if _wants_json(request):
        return JSONResponse({"action": action, "changed": outcome.changed,
                             "skipped": outcome.skipped})
    return _back(f"/moderation/{site}", action, len(outcome.changed))


@router.post("/moderation/{site}/undo")
async def undo(request: Request, site: str) -> Response:
    mod, _, _ = await _post(request, site)
    outcome = await run_in_threadpool(svc.undo, _services(request), _uow(request), mod)
    if _wants_json(request):
        return JSONResponse({"action": "undo", "changed": outcome.changed,
                             "skipped": outcome.skipped})
    return _back(f"/moderation/{site}", "undo", len(outcome.changed))


@router.get("/moderation/{site}/decisions.jsonl")
async def decisions(request: Request, site: str) -> Response:
    mod, _ = await _moderator(request, site)
    rows = await run_in_threadpool(lambda: list(svc.decisions_export(_uow(request), mod)))
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    return Response(body, media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="{mod.site.slug}-decisions.jsonl"',
        "Cache-Control": "no-store"})


# -- settings --------------------------------------------------------------------------------
@router.get("/moderation/{site}/settings", response_class=HTMLResponse)
async def settings_page(request: Request, site: str) -> Response:
    mod, session = await _moderator(request, site)
    return _settings_page(request, mod, session, settings_svc.current_form(mod.site.raw_settings))


def _settings_page(request: Request, mod: svc.Moderator, session: sess.Session,
                   values: dict[str, Any], error: str | None = None, status: int = 200
                   ) -> Response:
    return _page(request, "settings.html", mod, session, {
        "values": values, "error": error, "done": _done(request),
        "labels": list(values["hold"]),
    }, status)


@router.post("/moderation/{site}/settings")
async def save_settings(request: Request, site: str) -> Response:
    mod, session, form = await _post(request, site, admin=True)
    text = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    labels = [label for label in settings_svc.current_form({})["hold"]]
    update = settings_svc.SettingsUpdate(
        hold={label: text.get(f"hold_{label}", "") for label in labels},
        reject={label: text.get(f"reject_{label}", "") for label in labels},
        blocklist=text.get("blocklist", ""), allowlist=text.get("allowlist", ""),
        premoderate_all="premoderate_all" in form,
        premoderate_first_time="premoderate_first_time" in form,
        guest_posting="guest_posting" in form, edit_window_s=text.get("edit_window_s", ""),
        support_text=text.get("support_text", ""),
        support_amounts=[str(v) for v in form.getlist("support_amount")][:4],
        support_url=text.get("support_url", ""),
    )
    try:
        await run_in_threadpool(settings_svc.update_settings, _services(request), _uow(request),
                                mod, update)
    except e.InvalidInput as exc:
        values = {**settings_svc.current_form(mod.site.raw_settings), **_echo(update)}
        return _settings_page(request, mod, session, values, exc.message, 422)
    return _back(f"/moderation/{site}/settings", "settings")


def _echo(u: settings_svc.SettingsUpdate) -> dict[str, Any]:
    """What the admin typed, shown again with the error (escaped by the template)."""
    return {"hold": u.hold, "reject": u.reject, "blocklist": u.blocklist,
            "allowlist": u.allowlist, "premoderate_all": u.premoderate_all,
            "premoderate_first_time": u.premoderate_first_time, "guest_posting": u.guest_posting,
            "edit_window_s": u.edit_window_s, "support_text": u.support_text,
            "support_amounts": (u.support_amounts + [""] * 4)[:4], "support_url": u.support_url}


@router.post("/moderation/{site}/threads")
async def close_thread(request: Request, site: str) -> Response:
    mod, _, form = await _post(request, site, admin=True)
    key, action = str(form.get("key") or "").strip(), str(form.get("action") or "")
    if not key or action not in ("close", "reopen"):
        raise e.InvalidInput("give a thread key and close or reopen", code="invalid_thread")
    await run_in_threadpool(svc.set_thread_closed, _services(request), _uow(request), mod, key,
                            action == "close")
    return _back(f"/moderation/{site}/settings", f"{action}_thread")


# -- dashboard -------------------------------------------------------------------------------
@router.get("/moderation/{site}/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, site: str, days: int = 30) -> Response:
    mod, session = await _moderator(request, site)
    days = days if days in (7, 30, 90) else 30
    data = await run_in_threadpool(build_dashboard, _services(request), _uow(request), mod, days)
    per_day = [(d.strftime("%m-%d"), float(n)) for d, n in data.per_day]
    verdict_rows = [("comments", {k: float(data.verdicts.get(k, 0))
                                  for k in ("publish", "hold", "reject")})]
    label_rows = [(label, {k: float(v) for k, v in counts.items()})
                  for label, counts in data.by_label.items()]
    return _page(request, "dashboard.html", mod, session, {
        "data": data,
        "per_day_svg": charts.bar_chart(per_day, title=f"Comments per day, last {days} days",
                                        label_every=max(1, days // 8)),
        "verdict_svg": charts.stacked_bars(verdict_rows, ["publish", "hold", "reject"],
                                           title="First verdict of the model"),
        "label_svg": charts.stacked_bars(label_rows, ["approved", "rejected"],
                                         title="Moderator decisions by label"),
        "ttd_svg": charts.bar_chart([(n, float(c)) for n, c in data.buckets],
                                    title="Time to decision", height=160),
    })
