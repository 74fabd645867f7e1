"""Nothing acknowledged is lost: kill -9 the server in the middle of a burst of posts.

Every comment that got a 201 must be there after a restart, and retrying the requests that got
no answer (with their Idempotency-Key) must not create any comment twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start_server(db_url: str, tmp_path: Path) -> Iterator[Callable[[], tuple[str, subprocess.Popen[bytes]]]]:
    procs: list[subprocess.Popen[bytes]] = []
    port = _port()

    def start() -> tuple[str, subprocess.Popen[bytes]]:
        env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_RATE_LIMITS": "off",
               "REJOINDER_DATABASE_URL": db_url.replace("postgresql+psycopg", "postgresql"),
               "REJOINDER_MODERATION_BACKEND": "keywords", "REJOINDER_DATA_DIR": str(tmp_path)}
        proc = subprocess.Popen([sys.executable, "-m", "rejoinder", "serve", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base, proc
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("server did not start")

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_kill_9_mid_burst_loses_nothing_acknowledged(start_server, db_url: str) -> None:  # type: ignore[no-untyped-def]
    base, proc = start_server()
    acknowledged: dict[str, int] = {}
    unanswered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def poster(worker: int) -> None:
        with httpx.Client(timeout=5) as http:
            for i in range(10_000):
                if stop.is_set():
                    return
                key = f"w{worker}-{i}"
                try:
                    r = http.post(f"{base}/api/v1/comments", headers={"Idempotency-Key": key},
                                  json={"site": "demo", "thread": "/demo/crash",
                                        "body": f"burst comment {key}"})
                except httpx.TransportError:
                    with lock:
                        unanswered.append(key)
                    return
                with lock:
                    if r.status_code == 201:
                        acknowledged[key] = r.json()["id"]
                    else:
                        unanswered.append(key)

    threads = [threading.Thread(target=poster, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: the process just vanishes
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 40

    base, _ = start_server()
    # Read what is stored, whatever its status (the flood rule may hold some of the burst).
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT c.id, c.body_md FROM comments c JOIN threads t "
                                 "ON t.id = c.thread_id WHERE t.key = '/demo/crash'")).all()
    engine.dispose()
    stored: dict[str, int] = {}
    for comment_id, body in rows:
        key = body.removeprefix("burst comment ")
        assert key not in stored, f"{key} stored twice"
        stored[key] = comment_id
    for key, comment_id in acknowledged.items():
        assert stored.get(key) == comment_id, f"acknowledged {key} was lost"
    # Clients retry what got no answer: the idempotency key makes that safe.
    for key in unanswered:
        r = httpx.post(f"{base}/api/v1/comments", headers={"Idempotency-Key": key},
                       json={"site": "demo", "thread": "/demo/crash", "body": f"burst comment {key}"})
        assert r.status_code in (200, 201)
        if key in stored:
            assert r.status_code == 200 and r.json()["id"] == stored[key]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM comments c JOIN threads t "
                                  "ON t.id = c.thread_id WHERE t.key = '/demo/crash'")).scalar_one()
    engine.dispose()
    assert total == len(set(stored) | set(unanswered))
    print(f"\nkill -9 after {len(acknowledged)} acknowledged posts: all {len(acknowledged)} found "
          f"once; {len(unanswered)} unanswered retried, {total} comments in all, none twice")
