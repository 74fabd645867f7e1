"""The widget's JSON API under /api/v1: parse at the edge, then call one service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from rejoinder.domain.comments import SortOrder
from rejoinder.domain.errors import InvalidInput
from rejoinder.domain.text import check_slug, clean_thread_key
from rejoinder.events import LocalEventBus
from rejoinder.ratelimit import RateLimiter
from rejoinder.services import comments as svc
from rejoinder.services import sites as site_svc
from rejoinder.services.context import Services
from rejoinder.services.moderation import moderate
from rejoinder.web import fastpath
from rejoinder.web.api.schemas import (
    CountsOut,
    EditCommentIn,
    ErrorOut,
    FlagIn,
    ModerationActionIn,
    PostCommentIn,
    PostedComment,
    QueueOut,
    ThreadPage,
    VoteIn,
    VoteOut,
)

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
# Ids are 63-bit on every database: a larger number is a client error, not an overflow.
CommentId = Annotated[int, Path(ge=1, le=2**62)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)


# The dependencies are `async def` although they wait for nothing: FastAPI runs a plain `def`
# dependency in the thread pool, one thread hop each, which was a tenth of posting's CPU.
async def services_dep(request: Request) -> Services:
    return services_of(request)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def client_of(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    origin: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> svc.Client:
    return svc.Client(ip=client_ip(request), origin=origin, bearer=fastpath.bearer_token(
        authorization), idempotency_key=idempotency_key,
        same_origin=fastpath.same_origin(origin, request.headers.get("host")))


def client_ip(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    return fastpath.client_ip(peer, request.headers.get("x-forwarded-for"),
                              services_of(request).settings.trusted_proxies)


ServicesDep = Annotated[Services, Depends(services_dep)]
ClientDep = Annotated[svc.Client, Depends(client_of)]
LimiterDep = Annotated[RateLimiter, Depends(limiter_of)]


@router.get("/comments", response_model=ThreadPage, summary="A thread's published comments as a tree")
async def get_comments(
    services: ServicesDep,
    limiter: LimiterDep,
    request: Request,
    site: Annotated[str, Query(pattern=SLUG, max_length=63)],
    thread: Annotated[str, Query(min_length=1, max_length=512)],
    sort: SortOrder = SortOrder.OLDEST,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    limiter.check("read", client_ip(request))
    check_slug(site)
    key = clean_thread_key(thread)
    variant = f"{sort.value}|{limit}|{cursor or ''}"
    page = services.cache.get(site, key, variant)
    if page is None:
        page = await run_in_threadpool(svc.read_thread, services, site, key, sort, limit, cursor)
    return Response(page, media_type="application/json")


@router.post("/comments", status_code=201, response_model=PostedComment,
             summary="Post a comment or a reply")
def post_comment(
    body: PostCommentIn, services: ServicesDep, client: ClientDep, limiter: LimiterDep
) -> JSONResponse:
    limiter.check("post", client.ip)
    limiter.check("post_site", body.site)
    result = svc.post_comment(services, body.command(), client)
    return JSONResponse(result.to_json(), status_code=201 if result.created else 200)


@router.patch("/comments/{comment_id}", response_model=PostedComment,
              summary="Edit a comment (author within the edit window, or a moderator)")
def patch_comment(
    comment_id: CommentId, body: EditCommentIn, services: ServicesDep, client: ClientDep,
    limiter: LimiterDep,
) -> dict[str, Any]:
    limiter.check("post", client.ip)
    return svc.edit_comment(services, comment_id, body.body, client).to_json()


@router.delete("/comments/{comment_id}", status_code=204,
               summary="Delete a comment (author within the edit window, or a moderator)")
def delete_comment(comment_id: CommentId, services: ServicesDep, client: ClientDep) -> Response:
    svc.delete_comment(services, comment_id, client)
    return Response(status_code=204)


@router.post("/comments/{comment_id}/votes", response_model=VoteOut, summary="Vote on a comment")
def vote(
    comment_id: CommentId, body: VoteIn, services: ServicesDep, client: ClientDep, limiter: LimiterDep
) -> dict[str, int]:
    limiter.check("vote", client.ip)
    return svc.cast_vote(services, comment_id, body.value, client)


@router.post("/comments/{comment_id}/flags", status_code=201, summary="Report a comment")
def flag(
    comment_id: CommentId, body: FlagIn, services: ServicesDep, client: ClientDep, limiter: LimiterDep
) -> JSONResponse:
    limiter.check("vote", client.ip)
    created = svc.flag_comment(services, comment_id, body.reason, body.note, client)
    return JSONResponse({"flagged": True}, status_code=201 if created else 200)


@router.get("/counts", response_model=CountsOut, summary="Published comment counts of threads")
def get_counts(
    services: ServicesDep,
    request: Request,
    limiter: LimiterDep,
    site: Annotated[str, Query(pattern=SLUG, max_length=63)],
    thread: Annotated[list[str], Query()],
) -> dict[str, dict[str, int]]:
    limiter.check("read", client_ip(request))
    check_slug(site)
    return {"counts": svc.counts(services, site, thread)}


@router.get("/stream", summary="Server-Sent Events: new, edited and removed comments of a thread",
            response_class=StreamingResponse)
async def stream(
    services: ServicesDep,
    request: Request,
    site: Annotated[str, Query(pattern=SLUG, max_length=63)],
    thread: Annotated[str, Query(min_length=1, max_length=512)],
) -> StreamingResponse:
    check_slug(site)
    key = clean_thread_key(thread)
    bus = services.events
    if not isinstance(bus, LocalEventBus):
        raise InvalidInput("live events are not available", code="no_stream")
    with services.uow.read() as store:  # an unknown site is a 404, not an empty stream
        if store.site_by_slug(site) is None:
            from rejoinder.domain.errors import NotFound

            raise NotFound(f"no site {site!r}", code="site_not_found")

    async def events() -> AsyncIterator[bytes]:
        async with bus.subscribe(site, key) as queue:
            yield b"retry: 3000\n: connected\n\n"
            while not await request.is_disconnected():
                try:
                    yield await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield b": keep-alive\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/moderation/queue", response_model=QueueOut,
            summary="Pending and flagged comments with their scores (moderators)")
def queue(
    services: ServicesDep, client: ClientDep, site: Annotated[str, Query(pattern=SLUG, max_length=63)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    token = svc.lookup_token(services, client.bearer)
    return {"site": site, "items": site_svc.moderation_queue(services, token, site, limit)}


@router.post("/moderation/comments/{comment_id}", summary="Approve, reject or ban (moderators)")
def moderation_action(
    comment_id: CommentId, body: ModerationActionIn, services: ServicesDep, client: ClientDep
) -> dict[str, Any]:
    token = svc.lookup_token(services, client.bearer)
    comment, site, thread = moderate(services, token, comment_id, body.action)
    if comment.status.value == "published":
        services.events.publish(site, thread, "comment.created",
                                {"id": comment.id, "parent_id": comment.parent_id,
                                 "comment": comment.to_json()})
    else:
        services.events.publish(site, thread, "comment.removed",
                                {"id": comment.id, "parent_id": comment.parent_id})
    return comment.to_json()
