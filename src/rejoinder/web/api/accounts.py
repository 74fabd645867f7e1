"""Readers' sign-in and their own data, under /api/v1/auth and /api/v1/me."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from rejoinder.services import accounts
from rejoinder.web.api.routes import ClientDep, LimiterDep, ServicesDep, router
from rejoinder.web.api.schemas import (
    LoginIn,
    MagicLinkIn,
    MagicLinkVerifyIn,
    RegisterIn,
    SessionOut,
    SsoIn,
    UserOut,
)


def _session(user: Any, token: str) -> dict[str, Any]:
    return {"session_token": token, "user": user.to_json()}


@router.post("/auth/register", status_code=201, response_model=SessionOut,
             summary="Create a reader account with a password and sign in")
def register(body: RegisterIn, services: ServicesDep, client: ClientDep,
             limiter: LimiterDep) -> dict[str, Any]:
    limiter.check("auth", client.ip)
    user, token = accounts.register(services, body.site, body.email, body.password, body.name)
    return _session(user, token)


@router.post("/auth/login", response_model=SessionOut, summary="Sign in with email and password")
def login(body: LoginIn, services: ServicesDep, client: ClientDep,
          limiter: LimiterDep) -> dict[str, Any]:
    limiter.check("auth", client.ip)
    user, token = accounts.login(services, body.site, body.email, body.password)
    return _session(user, token)


@router.post("/auth/sso", response_model=SessionOut,
             summary="Sign in with the publisher's single sign-on token (JWT, HS256)")
def sso(body: SsoIn, services: ServicesDep, client: ClientDep,
        limiter: LimiterDep) -> dict[str, Any]:
    limiter.check("auth", client.ip)
    user, token = accounts.sso_login(services, body.site, body.token)
    return _session(user, token)


@router.post("/auth/magic-link", status_code=202,
             summary="Email a single-use sign-in link (202 whether or not an account exists)")
def magic_link(body: MagicLinkIn, services: ServicesDep, client: ClientDep,
               limiter: LimiterDep) -> Response:
    limiter.check("auth", client.ip)
    accounts.request_magic_link(services, body.site, body.email, body.return_url)
    return Response(status_code=202)


@router.post("/auth/magic-link/verify", response_model=SessionOut,
             summary="Sign in with the token of an emailed link (creates the account if new)")
def magic_link_verify(body: MagicLinkVerifyIn, services: ServicesDep, client: ClientDep,
                      limiter: LimiterDep) -> dict[str, Any]:
    limiter.check("auth", client.ip)
    user, token = accounts.verify_magic_link(services, body.site, body.token)
    return _session(user, token)


@router.post("/auth/logout", status_code=204, summary="End this session")
def logout(services: ServicesDep, client: ClientDep) -> Response:
    accounts.logout(services, client.bearer)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="The signed-in reader")
def me(services: ServicesDep, client: ClientDep) -> dict[str, Any]:
    return accounts.require_user(services, client.bearer).to_json()


@router.get("/me/export", summary="Download everything we hold about the signed-in reader")
def export(services: ServicesDep, client: ClientDep) -> dict[str, Any]:
    return accounts.export_data(services, accounts.require_user(services, client.bearer))


@router.delete("/me", summary="Delete the account; comments stay as [deleted]")
def delete(services: ServicesDep, client: ClientDep) -> dict[str, int]:
    user = accounts.require_user(services, client.bearer)
    return {"deleted_comments": accounts.delete_account(services, user)}
