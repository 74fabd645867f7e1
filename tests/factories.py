"""Small builders for tests that talk to the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def post(tc: TestClient, body: str = "A fair point.", *, thread: str = "/2026/11/story",
         site: str = "news", expect: int | None = 201, headers: dict[str, str] | None = None,
         **fields: Any) -> dict[str, Any]:
    payload = {"site": site, "thread": thread, "body": body, **fields}
    r = tc.post("/api/v1/comments", json=payload, headers=headers or {})
    if expect is not None:
        assert r.status_code == expect, r.text
    data: dict[str, Any] = r.json()
    return data


def thread(tc: TestClient, key: str = "/2026/11/story", *, site: str = "news",
           **params: Any) -> dict[str, Any]:
    r = tc.get("/api/v1/comments", params={"site": site, "thread": key, **params})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def ids(comments: list[dict[str, Any]]) -> list[int]:
    return [c["id"] for c in comments]


def count_rows(tc: TestClient, table: str) -> int:
    from sqlalchemy import text

    db = tc.app.state.db  # type: ignore[attr-defined]
    with db.reader.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
