"""Who may do what: every protected API route against every kind of caller."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_site
from tests.factories import post

from rejoinder.domain.sites import Role
from rejoinder.services.sites import create_token

CALLERS = ("anonymous", "guest_with_token", "guest_wrong_token", "reader", "moderator_elsewhere",
           "moderator", "admin")

# (route, expected status per caller, in CALLERS order)
MATRIX = {
    "edit": (401, 200, 403, 403, 403, 200, 200),
    "delete": (401, 204, 403, 403, 403, 204, 204),
    "queue": (403, 403, 403, 403, 403, 200, 200),
    "approve": (403, 403, 403, 403, 403, 200, 200),
    "me": (401, 401, 401, 200, 401, 401, 401),
    "me_export": (401, 401, 401, 200, 401, 401, 401),
}


def _credentials(tc: TestClient) -> dict[str, str | None]:
    """One credential per kind of caller (the guest's edit token is the comment's own)."""
    services = tc.app.state.services  # type: ignore[attr-defined]
    reader = tc.post("/api/v1/auth/register", json={
        "site": "news", "email": "reader@example.org", "password": "a long password",
        "name": "Reader"})
    assert reader.status_code == 201
    return {
        "anonymous": None,
        "guest_wrong_token": "not-the-edit-token",
        "reader": reader.json()["session_token"],
        "moderator_elsewhere": create_token(services, "other", Role.MODERATOR),
        "moderator": create_token(services, "news", Role.MODERATOR),
        "admin": create_token(services, "news", Role.ADMIN),
    }


@pytest.mark.parametrize("route", list(MATRIX))
def test_authorisation_matrix(app_factory: Callable[..., TestClient], route: str) -> None:
    tc = app_factory()
    make_site(tc, "news", ["https://news.example.org"])
    make_site(tc, "other", ["https://other.example.org"])
    credentials = _credentials(tc)
    got = []
    for i, caller in enumerate(CALLERS):
        comment = post(tc, f"Comment for {caller} {i}")
        token = comment["edit_token"] if caller == "guest_with_token" else credentials[caller]
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        cid = comment["id"]
        r = {
            "edit": lambda: tc.patch(f"/api/v1/comments/{cid}", json={"body": "changed"},
                                     headers=auth),
            "delete": lambda: tc.delete(f"/api/v1/comments/{cid}", headers=auth),
            "queue": lambda: tc.get("/api/v1/moderation/queue", params={"site": "news"},
                                    headers=auth),
            "approve": lambda: tc.post(f"/api/v1/moderation/comments/{cid}",
                                       json={"action": "approve"}, headers=auth),
            "me": lambda: tc.get("/api/v1/me", headers=auth),
            "me_export": lambda: tc.get("/api/v1/me/export", headers=auth),
        }[route]()
        got.append(r.status_code)
        if r.status_code >= 400:
            assert set(r.json()) == {"error"}
    assert dict(zip(CALLERS, got, strict=True)) == dict(zip(CALLERS, MATRIX[route], strict=True))
