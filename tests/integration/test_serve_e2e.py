"""End to end: `rejoinder serve` as a real process, real HTTP, live events over SSE."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp_path: Path, port: int, **env_extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_DATA_DIR": str(tmp_path),
           "REJOINDER_MODERATION_BACKEND": "keywords", "REJOINDER_RATE_LIMITS": "off",
           **env_extra}
    for name in ("REJOINDER_DATABASE_URL", "REJOINDER_PUBLIC_URL", "REJOINDER_CONFIG_FILE"):
        if name not in env_extra:
            env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rejoinder", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    out = proc.stdout.read().decode() if proc.stdout else ""
    pytest.fail(f"server did not start:\n{out}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = start(tmp_path, port, REJOINDER_PUBLIC_URL=f"http://127.0.0.1:{port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_the_demo_posts_on_any_port_without_configuration(tmp_path: Path) -> None:
    # No REJOINDER_PUBLIC_URL: the public URL is where the server listens, so the demo site's
    # allowed origin, the links made from it and the page's own posts all use --port (not :8000).
    port = free_port()
    proc = start(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        page = httpx.get(f"{base}/api/v1/comments",
                         params={"site": "demo", "thread": "/demo/welcome"}).json()
        assert page["thread"]["url"] == f"{base}/demo"  # links made from the public URL
        body = {"site": "demo", "thread": "/demo/welcome", "body": "Posted from the demo page."}
        r = httpx.post(f"{base}/api/v1/comments", json=body, headers={"Origin": base})
        assert r.status_code == 201, r.text
    finally:
        stop(proc)
    # The same data served later on another port: the demo site was made for the first port,
    # but its page is this server's own, so its posts are same-origin and allowed.
    port = free_port()
    proc = start(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        r = httpx.post(f"{base}/api/v1/comments", json=body, headers={"Origin": base})
        assert r.status_code == 201, r.text
        # A foreign page is refused as before.
        r = httpx.post(f"{base}/api/v1/comments", json=body,
                       headers={"Origin": "https://elsewhere.example"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    finally:
        stop(proc)


def test_demo_page_and_thread_are_served(server: str) -> None:
    demo = httpx.get(f"{server}/demo")
    assert demo.status_code == 200 and "embed.js" in demo.text
    data = httpx.get(f"{server}/api/v1/comments",
                     params={"site": "demo", "thread": "/demo/welcome"}).json()
    assert data["thread"]["comment_count"] >= 5
    assert any(c["replies"] for c in data["comments"])
    assert httpx.get(f"{server}/embed.js").headers["content-type"].startswith("text/javascript")
    page = httpx.get(f"{server}/sites/demo/threads", params={"thread": "/demo/welcome"})
    assert "Comments" in page.text


def test_live_event_reaches_a_reader(server: str) -> None:
    received: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{server}/api/v1/stream",
                          params={"site": "demo", "thread": "/demo/welcome"},
                          timeout=10) as r:
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                if line.startswith("event:") or line.startswith("data:"):
                    received.append(line)
                if line.startswith("data:"):
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(10)
    r = httpx.post(f"{server}/api/v1/comments",
                   json={"site": "demo", "thread": "/demo/welcome", "body": "Live!"})
    assert r.status_code == 201
    t.join(10)
    assert received[0] == "event: comment.created"
    assert f'"id":{r.json()["id"]}' in received[1]


def test_stream_of_unknown_site_is_404(server: str) -> None:
    r = httpx.get(f"{server}/api/v1/stream", params={"site": "nosuch", "thread": "/x"})
    assert r.status_code == 404
