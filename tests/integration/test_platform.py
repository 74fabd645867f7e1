"""Cross-cutting behaviour: CORS per site, rate limits, health, metrics, OpenAPI, pages, export."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.conftest import make_site
from tests.factories import post

ALLOWED = "https://news.example.org"


def test_cors_preflight_only_for_site_origins(client: TestClient) -> None:
    pre = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/v1/comments", headers={"Origin": ALLOWED, **pre})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    bad = client.options("/api/v1/comments", headers={"Origin": "https://evil.example", **pre})
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers

    r = client.get("/api/v1/comments", params={"site": "news", "thread": "/t"},
                   headers={"Origin": ALLOWED})
    assert r.headers["access-control-allow-origin"] == ALLOWED
    r = client.get("/api/v1/comments", params={"site": "news", "thread": "/t"},
                   headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_post_from_another_sites_origin_is_refused(client: TestClient) -> None:
    make_site(client, "other", ["https://other.example.org"])
    r = client.post("/api/v1/comments", json={"site": "news", "thread": "/t", "body": "hi"},
                    headers={"Origin": "https://other.example.org"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    ok = client.post("/api/v1/comments", json={"site": "news", "thread": "/t", "body": "hi"},
                     headers={"Origin": ALLOWED})
    assert ok.status_code == 201


def test_rate_limit_throttles_one_client_not_others(app_factory: Callable[..., TestClient]) -> None:
    flooder = app_factory(rate_limits=True, rate_limit_post="3/minute")
    make_site(flooder, "news", [ALLOWED])
    for i in range(3):
        post(flooder, f"message {i}")
    r = flooder.post("/api/v1/comments", json={"site": "news", "thread": "/t", "body": "more"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    reader = TestClient(flooder.app, client=("192.0.2.99", 1))
    post(reader, "I am someone else")


def test_read_limit_answers_alike_from_cache_and_from_the_route(
    app_factory: Callable[..., TestClient],
) -> None:
    # A cached page is answered in front of the framework (web/fastpath.py); when the reader is
    # over the read limit, that answer must be the route's 429, headers and all.
    tc = app_factory(rate_limits=True, rate_limit_read="3/minute")
    make_site(tc, "news", [ALLOWED])
    params = {"site": "news", "thread": "/t"}
    assert [tc.get("/api/v1/comments", params=params).status_code for _ in range(3)] == [200] * 3
    cached = tc.get("/api/v1/comments", params=params, headers={"Origin": ALLOWED})
    tc.app.state.services.cache.clear()  # type: ignore[attr-defined]
    routed = tc.get("/api/v1/comments", params=params, headers={"Origin": ALLOWED})
    assert cached.status_code == routed.status_code == 429
    assert cached.json() == routed.json() and cached.json()["error"]["code"] == "rate_limited"
    drop = {"date", "retry-after"}  # the wait shrinks as the window passes
    assert {k: v for k, v in cached.headers.items() if k not in drop} == \
        {k: v for k, v in routed.headers.items() if k not in drop}
    assert int(cached.headers["retry-after"]) >= 1 and int(routed.headers["retry-after"]) >= 1


def test_rate_limits_off_for_benchmarks(app_factory: Callable[..., TestClient]) -> None:
    tc = app_factory(rate_limits=False, rate_limit_post="1/minute")
    make_site(tc, "news", [ALLOWED])
    for i in range(3):
        post(tc, f"message {i}")


def test_health_metrics_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    post(client, "count me")
    metrics = client.get("/metrics").text
    assert "rejoinder_http_requests_total" in metrics
    assert 'rejoinder_moderation_decisions_total{action="publish"}' in metrics
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/comments", "/api/v1/comments/{comment_id}",
                 "/api/v1/comments/{comment_id}/votes", "/api/v1/comments/{comment_id}/flags",
                 "/api/v1/counts", "/api/v1/stream", "/api/v1/moderation/queue",
                 "/api/v1/moderation/comments/{comment_id}"):
        assert path in paths, path


def test_security_headers(client: TestClient) -> None:
    r = client.get("/api/v1/comments", params={"site": "news", "thread": "/t"})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_thread_page_without_javascript_escapes_everything(client: TestClient) -> None:
    post(client, "Plain *text* <script>alert(1)</script>", author_name="<img src=x onerror=1>",
         thread_title="</title><script>alert(2)</script>")
    r = client.get("/sites/news/threads", params={"thread": "/2026/11/story"})
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert "&lt;img src=x onerror=1&gt;" in r.text
    assert "<em>text</em>" in r.text and "1 Comments" in r.text


def test_export_lines_cover_the_site(client: TestClient) -> None:
    import orjson

    from rejoinder.services.sites import export_site

    c = post(client, "exported")
    post(client, "reply", parent_id=c["id"])
    rows = list(export_site(client.app.state.services, "news"))  # type: ignore[attr-defined]
    kinds = [k for k, _ in rows]
    assert kinds == ["site", "thread", "comment", "comment"]
    for _, row in rows:
        orjson.dumps(row)  # every value is JSON-serialisable
