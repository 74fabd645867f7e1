"""Scale-out for real: two `rejoinder serve` processes (standing for two machines) behind nginx,
sharing PostgreSQL and Redis. A comment posted through one appears live in a browser reading
from the other, and cached pages on both follow writes made on either."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import _need, _pg_schema

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Iterator[dict[str, str]]:
    _need("REJOINDER_TEST_POSTGRES_URL", os.environ.get("REJOINDER_TEST_POSTGRES_URL", ""))
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `make install-test` installs it")
    for db_url in _pg_schema():
        a, b, front = _port(), _port(), _port()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for port in (a, b):
                env = {**os.environ, "REJOINDER_ENV": "development",
                       "REJOINDER_DATABASE_URL": db_url.replace("postgresql+psycopg", "postgresql"),
                       "REJOINDER_REDIS_URL": redis_url, "REJOINDER_RATE_LIMITS": "off",
                       "REJOINDER_MODERATION_BACKEND": "keywords",
                       "REJOINDER_PUBLIC_URL": f"http://127.0.0.1:{port}",
                       "REJOINDER_TRUSTED_PROXIES": '["127.0.0.1"]'}
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "rejoinder", "serve", "--port", str(port)], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
            for port in (a, b):
                _wait(f"http://127.0.0.1:{port}/healthz")
            conf = tmp_path / "nginx.conf"
            conf.write_text(f"""
worker_processes 1; daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off;
  client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path}; fastcgi_temp_path {tmp_path};
  uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};
  upstream rejoinder {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; keepalive 16; }}
  server {{ listen 127.0.0.1:{front};
    location / {{ proxy_pass http://rejoinder; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off; proxy_read_timeout 1h; }} }} }}
""")
            procs.append(subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)],
                                          start_new_session=True))
            _wait(f"http://127.0.0.1:{front}/healthz")
            yield {"a": f"http://127.0.0.1:{a}", "b": f"http://127.0.0.1:{b}",
                   "front": f"http://127.0.0.1:{front}"}
        finally:
            for p in procs:
                os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                p.wait(timeout=15)


def _thread(base: str) -> dict:  # type: ignore[type-arg]
    r = httpx.get(f"{base}/api/v1/comments", params={"site": "demo", "thread": "/demo/welcome"})
    return r.json()  # type: ignore[no-any-return]


def test_cached_pages_follow_writes_on_the_other_process(cluster: dict[str, str]) -> None:
    before = _thread(cluster["b"])["thread"]["comment_count"]  # cached on b now
    r = httpx.post(f"{cluster['a']}/api/v1/comments",
                   json={"site": "demo", "thread": "/demo/welcome", "body": "Via process A"})
    assert r.status_code == 201
    deadline = time.monotonic() + 5
    while _thread(cluster["b"])["thread"]["comment_count"] != before + 1:
        assert time.monotonic() < deadline, "process B kept serving a stale page"
        time.sleep(0.1)
    # Through nginx, whichever process answers, readers see the new comment.
    for _ in range(4):
        assert _thread(cluster["front"])["thread"]["comment_count"] == before + 1


def test_comment_posted_on_one_process_appears_live_on_the_other(
    cluster: dict[str, str], browser: Any,
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{cluster['b']}/demo")
        page.get_by_text("About time.").wait_for(timeout=15_000)
        page.wait_for_timeout(1000)  # the widget opens its event stream to process B
        r = httpx.post(f"{cluster['a']}/api/v1/comments",
                       json={"site": "demo", "thread": "/demo/welcome",
                             "body": "Live from process A"})
        assert r.status_code == 201
        bar = page.locator("button.new")
        bar.wait_for(state="visible", timeout=10_000)
        bar.click()
        page.get_by_text("Live from process A").wait_for(timeout=5_000)
    finally:
        context.close()
