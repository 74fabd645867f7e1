"""The moderation hook at posting time, the queue and moderators' actions, through HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from fastapi.testclient import TestClient
from tests.conftest import make_site, moderator_token
from tests.factories import count_rows, ids, post, thread

from rejoinder.domain.moderation import Scores

HATE = "The Jew world order runs the banks"  # matched by the keywords backend


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_held_comment_is_invisible_until_approved(client: TestClient) -> None:
    ok = post(client, "Reasonable argument about the budget.")
    held = post(client, HATE)
    assert ok["status"] == "published" and held["status"] == "pending"
    assert ids(thread(client)["comments"]) == [ok["id"]]
    assert thread(client)["thread"]["comment_count"] == 1

    token = moderator_token(client, "news")
    q = client.get("/api/v1/moderation/queue", params={"site": "news"}, headers=_auth(token))
    assert q.status_code == 200
    item = q.json()["items"][0]
    assert item["id"] == held["id"] and item["scores"]["hate"] >= 0.5
    assert any("hate" in r for r in item["reasons"])
    assert item["evidence"][0]["text"].lower() == "jew world order"

    r = client.post(f"/api/v1/moderation/comments/{held['id']}", json={"action": "approve"},
                    headers=_auth(token))
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert ids(thread(client)["comments"]) == [ok["id"], held["id"]]
    assert count_rows(client, "audit_log") == 1


def test_reject_and_ban_author(client: TestClient) -> None:
    token = moderator_token(client, "news")
    held = post(client, HATE)
    r = client.post(f"/api/v1/moderation/comments/{held['id']}", json={"action": "ban_author"},
                    headers=_auth(token))
    assert r.json()["status"] == "rejected"
    # The banned reader's next comment is refused, however harmless; others publish.
    assert post(client, "Harmless now")["status"] == "rejected"
    assert thread(client)["comments"] == []
    other = TestClient(client.app, client=("192.0.2.55", 1))
    assert post(other, "Someone else")["status"] == "published"


def test_moderation_requires_a_token_of_that_site(client: TestClient) -> None:
    make_site(client, "other", ["https://other.example.org"])
    foreign = moderator_token(client, "other")
    held = post(client, HATE)
    url = f"/api/v1/moderation/comments/{held['id']}"
    assert client.post(url, json={"action": "approve"}).status_code == 403
    assert client.post(url, json={"action": "approve"}, headers=_auth(foreign)).status_code == 403
    assert client.post(url, json={"action": "approve"},
                       headers=_auth(held["edit_token"])).status_code == 403
    q = client.get("/api/v1/moderation/queue", params={"site": "news"}, headers=_auth(foreign))
    assert q.status_code == 403
    assert client.post(url, json={"action": "nuke"},
                       headers=_auth(moderator_token(client, "news"))).status_code == 422
    assert thread(client)["comments"] == []


def test_moderator_may_delete_any_comment(client: TestClient) -> None:
    c = post(client, "Delete me, moderator")
    token = moderator_token(client, "news")
    assert client.delete(f"/api/v1/comments/{c['id']}", headers=_auth(token)).status_code == 204
    assert thread(client)["comments"] == []


class Exploding:
    name = "exploding"
    version = "1"

    def score(self, texts: Sequence[str]) -> list[Scores]:
        raise RuntimeError("model file is corrupt")


class Stuck:
    name = "stuck"
    version = "1"

    def score(self, texts: Sequence[str]) -> list[Scores]:
        time.sleep(1.0)
        return [Scores.clean() for _ in texts]


def test_scoring_failure_holds_the_comment(app_factory: Callable[..., TestClient]) -> None:
    tc = app_factory(classifier_override=Exploding())
    make_site(tc, "news", ["https://news.example.org"])
    c = post(tc, "Perfectly harmless")
    assert c["status"] == "pending"
    token = moderator_token(tc, "news")
    item = tc.get("/api/v1/moderation/queue", params={"site": "news"},
                  headers=_auth(token)).json()["items"][0]
    assert item["reasons"] == ["scoring failed: RuntimeError"] and item["scores"] is None


def test_scoring_timeout_holds_the_comment(app_factory: Callable[..., TestClient]) -> None:
    tc = app_factory(classifier_override=Stuck(), moderation_timeout_s=0.2)
    make_site(tc, "news", ["https://news.example.org"])
    assert post(tc, "Slow model")["status"] == "pending"


def test_edit_into_hate_goes_back_to_the_queue(client: TestClient) -> None:
    c = post(client, "Innocent at first")
    r = client.patch(f"/api/v1/comments/{c['id']}", json={"body": HATE},
                     headers=_auth(c["edit_token"]))
    assert r.json()["status"] == "pending"
    assert thread(client)["comments"] == []


def test_site_blocklist_holds(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.uow.write() as store:
        site = store.site_by_slug("news")
        store.update_site(site.id, settings={"blocklist": ["miracle pills"]})
    assert post(client, "Buy MIRACLE pills today")["status"] == "pending"
    assert post(client, "Pills are not miracles")["status"] == "published"


def test_shadow_ban_and_first_time_premoderation(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.uow.write() as store:
        site = store.site_by_slug("news")
        store.update_site(site.id, settings={"premoderate_first_time": True})
    first = post(client, "My first comment here")
    assert first["status"] == "pending"
    token = moderator_token(client, "news")
    client.post(f"/api/v1/moderation/comments/{first['id']}", json={"action": "approve"},
                headers=_auth(token))
    assert post(client, "Known author now")["status"] == "published"

    shadowed = TestClient(client.app, client=("192.0.2.66", 1))
    with services.uow.write() as store:
        ip_hash = services.keyed_hash("ip", "192.0.2.66")
        store.add_ban(site.id, ip_hash, "shadow: troll", services.now())
    assert post(shadowed, "Nobody will see this")["status"] == "pending"


def _signed_in(tc: TestClient, email: str = "bad@example.org") -> dict[str, str]:
    r = tc.post("/api/v1/auth/register", json={"site": "news", "email": email,
                                                "password": "correct horse battery", "name": "B"})
    assert r.status_code == 201, r.text
    return _auth(r.json()["session_token"])


def test_ban_author_reaches_a_signed_in_author_on_any_address(client: TestClient) -> None:
    session = _signed_in(client)
    held = post(client, HATE, headers=session)
    r = client.post(f"/api/v1/moderation/comments/{held['id']}", json={"action": "ban_author"},
                    headers=_auth(moderator_token(client, "news")))
    assert r.json()["status"] == "rejected"
    # The same account from another address is still banned (the ban was by address alone).
    elsewhere = TestClient(client.app, client=("198.51.100.9", 2))
    assert post(elsewhere, "Harmless, from a new address", headers=session)["status"] == \
        "rejected"
    # A guest on that other address, and another account, are not.
    assert post(elsewhere, "A guest here")["status"] == "published"
    other = _signed_in(client, "good@example.org")
    assert post(elsewhere, "Another reader", headers=other)["status"] == "published"
