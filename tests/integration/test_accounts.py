"""Readers' accounts through the API: password, single sign-on, sessions, own data."""

from __future__ import annotations

import time

import jwt
from fastapi.testclient import TestClient
from tests.factories import count_rows, post, thread

SSO_SECRET = "publisher-shared-secret-0123456789"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _register(tc: TestClient, email: str = "ann@example.org", name: str = "Ann") -> dict:  # type: ignore[type-arg]
    r = tc.post("/api/v1/auth/register", json={"site": "news", "email": email,
                                                "password": "correct horse battery", "name": name})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_register_login_and_post_as_signed_in_reader(client: TestClient) -> None:
    session = _register(client)
    assert session["session_token"].startswith("rs_")
    me = client.get("/api/v1/me", headers=_auth(session["session_token"])).json()
    assert me["name"] == "Ann" and me["email"] == "ann@example.org"

    login = client.post("/api/v1/auth/login", json={"site": "news", "email": "ANN@example.org",
                                                     "password": "correct horse battery"})
    token = login.json()["session_token"]
    c = post(client, "Signed-in comment", headers=_auth(token), author_name="Spoofed")
    assert c["author"] == {"name": "Ann", "is_guest": False}
    assert "edit_token" not in c or c["edit_token"] is None
    # The account edits its comment with its session, not an edit token.
    r = client.patch(f"/api/v1/comments/{c['id']}", json={"body": "Edited"}, headers=_auth(token))
    assert r.status_code == 200
    other = _register(client, "bob@example.org", "Bob")["session_token"]
    assert client.patch(f"/api/v1/comments/{c['id']}", json={"body": "Hijack"},
                        headers=_auth(other)).status_code == 403
    # Votes count per account, and never for one's own comment.
    assert client.post(f"/api/v1/comments/{c['id']}/votes", json={"value": 1},
                       headers=_auth(token)).status_code == 403
    r = client.post(f"/api/v1/comments/{c['id']}/votes", json={"value": 1}, headers=_auth(other))
    assert r.json()["score"] == 1


def test_wrong_credentials_and_duplicates(client: TestClient) -> None:
    _register(client)
    for email, pw in (("ann@example.org", "wrong password!!"), ("nobody@example.org", "x" * 12)):
        r = client.post("/api/v1/auth/login", json={"site": "news", "email": email, "password": pw})
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_credentials"
    r = client.post("/api/v1/auth/register", json={"site": "news", "email": "ann@example.org",
                                                    "password": "another long one", "name": "A"})
    assert r.status_code == 409
    r = client.post("/api/v1/auth/register", json={"site": "news", "email": "c@example.org",
                                                    "password": "short", "name": "C"})
    assert r.status_code == 422
    assert count_rows(client, "users") == 1
    assert client.get("/api/v1/me", headers=_auth("rs_forged")).status_code == 401


def test_logout_ends_the_session(client: TestClient) -> None:
    token = _register(client)["session_token"]
    assert client.post("/api/v1/auth/logout", headers=_auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=_auth(token)).status_code == 401


def test_single_sign_on_with_publisher_jwt(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    claims = {"sub": "cms-42", "name": "Carla", "email": "carla@example.org",
              "exp": int(time.time()) + 300}
    good = jwt.encode(claims, SSO_SECRET, algorithm="HS256")
    r = client.post("/api/v1/auth/sso", json={"site": "news", "token": good})
    assert r.status_code == 403  # SSO is off until the site has a secret
    with services.uow.write() as store:
        site = store.site_by_slug("news")
        store.update_site(site.id, settings={"sso_secret": SSO_SECRET})
    r = client.post("/api/v1/auth/sso", json={"site": "news", "token": good})
    assert r.status_code == 200 and r.json()["user"]["name"] == "Carla"
    # Same publisher user again: same account, profile refreshed from the publisher.
    claims["name"] = "Carla M."
    again = client.post("/api/v1/auth/sso", json={
        "site": "news", "token": jwt.encode(claims, SSO_SECRET, algorithm="HS256")}).json()
    assert again["user"]["id"] == r.json()["user"]["id"] and again["user"]["name"] == "Carla M."
    forged = jwt.encode(claims, "some-other-secret-that-is-long-enough-0123", algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 3600}, SSO_SECRET, algorithm="HS256")
    none_alg = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    for bad in (forged, expired, none_alg, "not.a.jwt"):
        r = client.post("/api/v1/auth/sso", json={"site": "news", "token": bad})
        assert r.status_code == 401, bad
    assert count_rows(client, "users") == 1


def test_download_and_delete_my_data(client: TestClient) -> None:
    token = _register(client)["session_token"]
    mine = post(client, "My opinion", headers=_auth(token))
    reply = post(client, "A reply to Ann", parent_id=mine["id"])
    data = client.get("/api/v1/me/export", headers=_auth(token)).json()
    assert data["account"]["email"] == "ann@example.org"
    assert [c["body_md"] for c in data["comments"]] == ["My opinion"]

    r = client.delete("/api/v1/me", headers=_auth(token))
    assert r.json() == {"deleted_comments": 1}
    shown = thread(client)["comments"][0]
    assert shown["deleted"] and shown["author"]["name"] == "[deleted]"
    assert shown["replies"][0]["id"] == reply["id"]
    assert client.get("/api/v1/me", headers=_auth(token)).status_code == 401
    assert count_rows(client, "users") == 0
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.uow.read() as store:
        gone = store.comment(mine["id"])
    assert gone.body_md == "" and gone.author_email is None and gone.author_name is None


def test_an_ended_session_is_401_not_a_guest_post(client: TestClient) -> None:
    token = _register(client)["session_token"]
    client.post("/api/v1/auth/logout", headers=_auth(token))
    r = client.post("/api/v1/comments", json={"site": "news", "thread": "/t", "body": "hi"},
                    headers=_auth(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"
    assert count_rows(client, "comments") == 0
