"""Bad input of every kind gets a 4xx with the error shape and stores nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.factories import count_rows, post

GOOD = {"site": "news", "thread": "/t", "body": "fine"}


def _assert_error(r, status: int) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"]["code"], str)
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({**GOOD, "body": 42}, 422),
        ({**GOOD, "body": ["a"]}, 422),
        ({**GOOD, "body": ""}, 422),
        ({**GOOD, "body": "   \n  "}, 422),
        ({**GOOD, "body": "bell \x07 char"}, 422),
        ({**GOOD, "body": "nul \x00 char"}, 422),
        ({**GOOD, "body": "x" * 10_001}, 422),
        ({**GOOD, "site": "nope"}, 404),
        ({**GOOD, "site": "Bad Slug!"}, 422),
        ({**GOOD, "thread": ""}, 422),
        ({**GOOD, "thread": "line\nbreak"}, 422),
        ({**GOOD, "parent_id": "1"}, 422),
        ({**GOOD, "parent_id": 999999}, 422),
        ({**GOOD, "parent_id": -1}, 422),
        ({**GOOD, "parent_id": 2**70}, 422),
        ({**GOOD, "author_email": "not-an-email"}, 422),
        ({**GOOD, "author_name": "x" * 101}, 422),
        ({**GOOD, "thread_url": "javascript:alert(1)"}, 422),
        ({**GOOD, "notify": "everything"}, 422),
        ({**GOOD, "quote": {"exact": ""}}, 422),
        ({"site": "news", "thread": "/t"}, 422),
        ([], 422),
        ("just a string", 422),
    ],
)
def test_bad_posts_are_refused_and_store_nothing(client: TestClient, payload, status) -> None:  # type: ignore[no-untyped-def]
    _assert_error(client.post("/api/v1/comments", json=payload), status)
    assert count_rows(client, "comments") == 0
    assert count_rows(client, "threads") == 0


def test_parent_in_another_thread_is_refused(client: TestClient) -> None:
    other = post(client, "elsewhere", thread="/other")
    _assert_error(client.post("/api/v1/comments", json={**GOOD, "parent_id": other["id"]}), 422)
    assert count_rows(client, "comments") == 1


@pytest.mark.parametrize("value", [True, False, 1.0, -1.0, "1", 2, -2, None, [1]])
def test_votes_of_the_wrong_type_are_refused(client: TestClient, value: object) -> None:
    comment = post(client)
    r = client.post(f"/api/v1/comments/{comment['id']}/votes", json={"value": value})
    _assert_error(r, 422)
    assert count_rows(client, "votes") == 0


def test_broken_json_and_encodings(client: TestClient) -> None:
    h = {"content-type": "application/json"}
    _assert_error(client.post("/api/v1/comments", content=b'{"site": "news",', headers=h), 400)
    _assert_error(client.post("/api/v1/comments", content=b'{"site": "n\xff\xfe"}', headers=h), 400)
    _assert_error(client.post("/api/v1/comments", content=b"", headers=h), 422)
    assert count_rows(client, "comments") == 0


def test_huge_bodies_get_413(client: TestClient) -> None:
    big = {**GOOD, "body": "x" * 200_000}
    _assert_error(client.post("/api/v1/comments", json=big), 413)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"site": "news", "thread": "/t", "body": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    # No Content-Length (chunked upload): counted as it streams in.
    r = client.post("/api/v1/comments", content=chunks(),
                    headers={"content-type": "application/json"})
    _assert_error(r, 413)
    assert count_rows(client, "comments") == 0


@pytest.mark.parametrize(
    "params",
    [
        {"site": "news"},
        {"site": "news", "thread": "/t", "limit": 0},
        {"site": "news", "thread": "/t", "limit": 10_000},
        {"site": "news", "thread": "/t", "sort": "random"},
        {"site": "news", "thread": "/t", "cursor": "garbage!!"},
        {"site": "news", "thread": "/t", "sort": "top", "cursor": "WyJvbGRlc3QiLFsxXV0"},
        {"site": "nope", "thread": "/t"},
    ],
)
def test_bad_reads(client: TestClient, params) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/comments", params=params)
    assert 400 <= r.status_code < 500
    _assert_error(r, r.status_code)


def _cursor(payload: object) -> str:
    import base64
    import json

    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("oldest", [2**63]),  # one past the 64-bit range: overflowed in the driver (a 500)
        ("newest", [-(2**63)]),  # negated by the query: the same overflow
        ("top", [0, 10**30]),
        ("top", [-(2**31), 1]),  # scores are 32-bit
        ("top", [-(2**64), 1]),
        ("oldest", [1, 2]),  # a key of the wrong length for its order
        ("top", [1]),
    ],
)
def test_forged_cursors_are_refused(client: TestClient, sort: str, key: list[int]) -> None:
    post(client, thread="/t")  # the thread exists, so the cursor reaches the query
    r = client.get("/api/v1/comments", params={
        "site": "news", "thread": "/t", "sort": sort, "cursor": _cursor([sort, key])})
    _assert_error(r, 422)
    assert r.json()["error"]["code"] == "invalid_cursor"
    # The largest valid key still pages normally.
    edge = [2**63 - 1] if sort != "top" else [-(2**31 - 1), 2**63 - 1]
    ok = client.get("/api/v1/comments", params={
        "site": "news", "thread": "/t", "sort": sort, "cursor": _cursor([sort, edge])})
    assert ok.status_code == 200, ok.text


def test_unknown_routes_and_methods(client: TestClient) -> None:
    _assert_error(client.get("/api/v1/nothing"), 404)
    _assert_error(client.put("/api/v1/comments"), 405)
    _assert_error(client.patch("/api/v1/comments/abc", json={"body": "x"}), 422)
    _assert_error(client.delete("/api/v1/comments/424242"), 404)


def test_counts_limits(client: TestClient) -> None:
    _assert_error(client.get("/api/v1/counts", params={"site": "news"}), 422)
    many = [("site", "news")] + [("thread", f"/t{i}") for i in range(201)]
    _assert_error(client.get("/api/v1/counts", params=many), 422)


def test_client_cannot_set_server_fields(client: TestClient) -> None:
    c = post(client, "I'd like to be pre-approved", status="published", score=1000, id=5,
             is_guest=False)
    assert c["score"] == 0 and c["author"]["is_guest"] is True
