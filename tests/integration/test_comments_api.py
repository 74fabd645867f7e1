"""The widget's API through HTTP, on SQLite and PostgreSQL: threads, posting, editing, votes."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from tests.factories import count_rows, ids, post, thread


def test_thread_is_a_tree_with_counts(client: TestClient) -> None:
    a = post(client, "First!", author_name="Ann", thread_title="A story",
             thread_url="https://news.example.org/story")
    b = post(client, "Second, as a guest")
    a1 = post(client, "Reply to Ann", parent_id=a["id"])
    a1x = post(client, "Reply to the reply", parent_id=a1["id"])

    data = thread(client)
    assert data["thread"] == {"key": "/2026/11/story", "title": "A story",
                              "url": "https://news.example.org/story", "comment_count": 4,
                              "locked": False}
    assert ids(data["comments"]) == [a["id"], b["id"]]
    first = data["comments"][0]
    assert first["author"] == {"name": "Ann", "is_guest": True}
    assert data["comments"][1]["author"]["name"] == "Guest"
    assert ids(first["replies"]) == [a1["id"]]
    assert ids(first["replies"][0]["replies"]) == [a1x["id"]]
    assert first["reply_count"] == 1
    assert data["next_cursor"] is None


def test_post_returns_status_and_edit_token(client: TestClient) -> None:
    c = post(client, "Hello *world*", author_email="reader@example.org")
    assert c["status"] == "published"
    assert c["body_html"] == "<p>Hello <em>world</em></p>"
    assert len(c["edit_token"]) > 20
    assert "author_email" not in str(thread(client))  # emails are never shown to readers


def test_unknown_thread_reads_as_empty(client: TestClient) -> None:
    data = thread(client, "/never/commented")
    assert data["comments"] == [] and data["thread"]["comment_count"] == 0


def test_sort_orders(client: TestClient) -> None:
    c1 = post(client, "one")
    c2 = post(client, "two")
    c3 = post(client, "three")
    for ip, value in (("198.51.100.1", 1), ("198.51.100.2", 1)):
        voter = TestClient(client.app, client=(ip, 1))
        assert voter.post(f"/api/v1/comments/{c2['id']}/votes", json={"value": value}).status_code == 200
    assert ids(thread(client, sort="oldest")["comments"]) == [c1["id"], c2["id"], c3["id"]]
    assert ids(thread(client, sort="newest")["comments"]) == [c3["id"], c2["id"], c1["id"]]
    assert ids(thread(client, sort="top")["comments"]) == [c2["id"], c1["id"], c3["id"]]


def test_paging_by_top_level_comment_with_stable_cursor(client: TestClient) -> None:
    tops = [post(client, f"top {i}") for i in range(5)]
    reply = post(client, "a reply", parent_id=tops[0]["id"])
    for sort in ("oldest", "newest", "top"):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params = {"sort": sort, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = thread(client, **params)
            pages += 1
            assert len(page["comments"]) <= 2
            seen += ids(page["comments"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert pages == 3
        assert sorted(seen) == sorted(ids(tops)), sort
    first = thread(client, limit=1)["comments"][0]
    assert ids(first["replies"]) == [reply["id"]]  # replies come with their top-level comment


def test_a_cursor_survives_new_comments(client: TestClient) -> None:
    tops = [post(client, f"top {i}") for i in range(4)]
    page1 = thread(client, limit=2)
    post(client, "arrives while reading")
    page2 = thread(client, limit=2, cursor=page1["next_cursor"])
    assert ids(page2["comments"]) == ids(tops[2:])


def test_edit_within_window_with_token(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    c = post(client, "Typo here")
    auth = {"Authorization": f"Bearer {c['edit_token']}"}
    r = client.patch(f"/api/v1/comments/{c['id']}", json={"body": "Typo fixed"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["body_html"] == "<p>Typo fixed</p>" and r.json()["edited_at"]
    shown = thread(client)["comments"][0]
    assert shown["body_html"] == "<p>Typo fixed</p>" and shown["edited_at"]

    assert client.patch(f"/api/v1/comments/{c['id']}", json={"body": "x"}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.patch(f"/api/v1/comments/{c['id']}", json={"body": "x"},
                        headers=wrong).status_code == 403
    clock.advance(minutes=16)  # the default window is 15 minutes
    r = client.patch(f"/api/v1/comments/{c['id']}", json={"body": "late"}, headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "edit_window_closed"
    assert thread(client)["comments"][0]["body_html"] == "<p>Typo fixed</p>"


def test_delete_keeps_the_shape_of_the_thread(client: TestClient) -> None:
    parent = post(client, "I will regret this")
    child = post(client, "Reply", parent_id=parent["id"])
    lonely = post(client, "Nobody answers me")
    for c in (parent, lonely):
        r = client.delete(f"/api/v1/comments/{c['id']}",
                          headers={"Authorization": f"Bearer {c['edit_token']}"})
        assert r.status_code == 204
    data = thread(client)
    assert ids(data["comments"]) == [parent["id"]]  # kept for its reply; `lonely` is gone
    shown = data["comments"][0]
    assert shown["deleted"] and shown["body_html"] == "" and shown["author"]["name"] == "[deleted]"
    assert ids(shown["replies"]) == [child["id"]]
    assert data["thread"]["comment_count"] == 1


def test_one_vote_per_reader(client: TestClient) -> None:
    c = post(client, "Vote for me")
    voter = TestClient(client.app, client=("198.51.100.9", 1))
    url = f"/api/v1/comments/{c['id']}/votes"
    assert voter.post(url, json={"value": 1}).json() == {"score": 1, "upvotes": 1, "downvotes": 0,
                                                          "my_vote": 1}
    # Again, and with a fresh "browser" (no cookies, new voter header): still one vote.
    again = voter.post(url, json={"value": 1}, headers={"X-Rejoinder-Voter": "fresh"})
    assert again.json()["score"] == 1
    assert voter.post(url, json={"value": -1}).json() == {"score": -1, "upvotes": 0,
                                                           "downvotes": 1, "my_vote": -1}
    assert voter.post(url, json={"value": 0}).json()["score"] == 0
    assert count_rows(client, "votes") == 0
    assert voter.post(url, json={"value": 2}).status_code == 422
    assert voter.post("/api/v1/comments/999999/votes", json={"value": 1}).status_code == 404


def test_author_cannot_vote_for_own_comment(client: TestClient) -> None:
    c = post(client, "Mine")
    r = client.post(f"/api/v1/comments/{c['id']}/votes", json={"value": 1},
                    headers={"Authorization": f"Bearer {c['edit_token']}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "self_vote"


def test_counts_for_many_threads(client: TestClient) -> None:
    post(client, "a", thread="/a")
    post(client, "b", thread="/a")
    post(client, "c", thread="/b")
    r = client.get("/api/v1/counts", params=[("site", "news"), ("thread", "/a"),
                                             ("thread", "/b"), ("thread", "/none")])
    assert r.json() == {"counts": {"/a": 2, "/b": 1, "/none": 0}}


def test_locked_thread_refuses_comments(client: TestClient) -> None:
    c = post(client, "before closing")
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.uow.write() as store:
        store.set_thread_locked(store.comment(c["id"]).thread_id, True)
    r = client.post("/api/v1/comments", json={"site": "news", "thread": "/2026/11/story",
                                               "body": "too late"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "thread_locked"


def test_idempotency_key_prevents_double_posts(client: TestClient) -> None:
    headers = {"Idempotency-Key": "7f1d6c1e-retry"}
    first = post(client, "Posted over a flaky network", headers=headers)
    second = post(client, "Posted over a flaky network", headers=headers, expect=200)
    assert first["id"] == second["id"]
    assert count_rows(client, "comments") == 1


def test_flag_reaches_the_moderation_queue(client: TestClient) -> None:
    from tests.conftest import moderator_token

    c = post(client, "Questionable")
    url = f"/api/v1/comments/{c['id']}/flags"
    assert client.post(url, json={"reason": "spam", "note": "ad"}).status_code == 201
    assert client.post(url, json={"reason": "spam"}).status_code == 200  # same reader: once
    assert client.post(url, json={"reason": "because"}).status_code == 422
    token = moderator_token(client, "news")
    q = client.get("/api/v1/moderation/queue", params={"site": "news"},
                   headers={"Authorization": f"Bearer {token}"}).json()
    assert [i["id"] for i in q["items"]] == [c["id"]] and q["items"][0]["flags"] == ["spam"]


def test_comment_html_is_sanitised(client: TestClient) -> None:
    c = post(client, '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>'
                     " https://example.org/cat.png", author_name="<b>Mallory</b>")
    tags = _tags(c["body_html"])
    assert [t for t, _ in tags] == ["p", "a"]  # no script, no img: they stay visible as text
    assert dict(tags[1][1]) == {"href": "https://example.org/cat.png",
                                "rel": "nofollow ugc noopener"}
    assert thread(client)["comments"][0]["author"]["name"] == "<b>Mallory</b>"  # text, not HTML


def test_quote_for_inline_feedback(client: TestClient) -> None:
    q = {"exact": "the old ferry terminal", "prefix": "turn ", "suffix": " into"}
    c = post(client, "About this passage", quote=q)
    assert thread(client)["comments"][0]["quote"] == q
    assert c["quote"] == q


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_cached_pages_and_counts_follow_every_write(client: TestClient) -> None:
    params = [("site", "news"), ("thread", "/2026/11/story")]
    a = post(client, "first")
    assert len(thread(client)["comments"]) == 1  # now cached
    assert client.get("/api/v1/counts", params=params).json()["counts"]["/2026/11/story"] == 1
    b = post(client, "second")
    assert ids(thread(client)["comments"]) == [a["id"], b["id"]]
    assert client.get("/api/v1/counts", params=params).json()["counts"]["/2026/11/story"] == 2
    voter = TestClient(client.app, client=("198.51.100.77", 1))
    voter.post(f"/api/v1/comments/{b['id']}/votes", json={"value": 1})
    assert thread(client)["comments"][1]["score"] == 1
    client.delete(f"/api/v1/comments/{a['id']}",
                  headers={"Authorization": f"Bearer {a['edit_token']}"})
    assert ids(thread(client)["comments"]) == [b["id"]]
    assert client.get("/api/v1/counts", params=params).json()["counts"]["/2026/11/story"] == 1


def test_a_cached_answer_has_the_headers_of_an_uncached_one(client: TestClient) -> None:
    # Cached reads are answered in front of the middleware stack (web/fastpath.py): they must
    # still carry the security headers and, for a site's origin, the CORS headers.
    post(client, "first")
    counts = [("site", "news"), ("thread", "/2026/11/story"), ("thread", "/2026/11/other")]
    for origin in (None, "https://news.example.org", "https://elsewhere.example"):
        h = {"Origin": origin} if origin else {}
        for path, params in (("/api/v1/comments", [("site", "news"),
                                                   ("thread", "/2026/11/story")]),
                             ("/api/v1/counts", counts)):
            client.app.state.services.cache.clear()  # type: ignore[attr-defined]
            miss = client.get(path, params=params, headers=h)
            hit = client.get(path, params=params, headers=h)
            assert miss.status_code == hit.status_code == 200
            assert hit.content == miss.content
            same = {k: v for k, v in miss.headers.items() if k != "date"}
            assert {k: v for k, v in hit.headers.items() if k != "date"} == same
            assert hit.headers["x-content-type-options"] == "nosniff"
            assert "default-src 'none'" in hit.headers["content-security-policy"]
            allowed = origin == "https://news.example.org"
            assert hit.headers.get("access-control-allow-origin") == (origin if allowed else None)


def test_cached_counts_answer_moves_with_any_write(client: TestClient) -> None:
    params = [("site", "news"), ("thread", "/2026/11/story"), ("thread", "/2026/11/other")]
    post(client, "first")
    for expected in (1, 2, 3):
        for _ in range(3):  # the first asks the database, the others are answered from memory
            got = client.get("/api/v1/counts", params=params).json()["counts"]
            assert got == {"/2026/11/story": expected, "/2026/11/other": 0}
        post(client, f"comment {expected + 1}")


def test_the_no_script_thread_page_pages_past_200(client: TestClient) -> None:
    import html
    import re

    for i in range(205):
        post(client, f"Comment number {i}", thread="/big")
    first = client.get("/sites/news/threads", params={"thread": "/big"})
    assert first.status_code == 200
    assert first.text.count('class="comment"') == 200
    more = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert more, "no link to the next page"
    second = client.get("/sites/news/threads" + html.unescape(more.group(1)))
    assert second.status_code == 200
    assert second.text.count('class="comment"') == 5 and "Comment number 204" in second.text
    assert 'rel="next"' not in second.text
    bad = client.get("/sites/news/threads", params={"thread": "/big", "cursor": "forged!"})
    assert 400 <= bad.status_code < 500
