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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_DATA_DIR": str(tmp_path),
           "REJOINDER_MODERATION_BACKEND": "keywords", "REJOINDER_RATE_LIMITS": "off",
           "REJOINDER_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("REJOINDER_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rejoinder", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            proc.kill()
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"server did not start:\n{out}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
