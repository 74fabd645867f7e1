"""Redis stops and comes back under two real server processes (issue 6, reliability).

Two `rejoinder serve` processes share PostgreSQL and Redis (through a TCP proxy that can cut
Redis away, which is what a stopped Redis looks like to them). While Redis is away, readers and
posters on both processes see no error, and each process logs a warning; when Redis is back, the
shared features come back without a restart: a comment posted on one process shows up in the other
process's cached thread page and reaches its live (SSE) readers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.faultkit import TcpProxy, free_port, open_site, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

THREAD = "/faults/redis-outage"
SITE = "faults"


def _ids(base: str) -> set[int]:
    r = httpx.get(f"{base}/api/v1/comments", params={"site": SITE, "thread": THREAD,
                                                     "sort": "newest", "limit": 100}, timeout=10)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["comments"]}


def _post(base: str, body: str) -> int:
    r = httpx.post(f"{base}/api/v1/comments", timeout=10,
                   json={"site": SITE, "thread": THREAD, "body": body})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "published", r.json()
    return int(r.json()["id"])


def _eventually(cond: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while not cond():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


class Listener:
    """An SSE reader of the thread on one process, in a thread of its own."""

    def __init__(self, base: str) -> None:
        self.frames: list[str] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base,), daemon=True)
        self._thread.start()

    def _run(self, base: str) -> None:
        params = {"site": SITE, "thread": THREAD}
        with httpx.Client(timeout=httpx.Timeout(5, read=2)) as http:
            while not self._stop.is_set():
                try:
                    with http.stream("GET", f"{base}/api/v1/stream", params=params) as r:
                        self.connected.set()
                        for line in r.iter_lines():
                            if line.startswith("data:"):
                                self.frames.append(line)
                            if self._stop.is_set():
                                return
                except httpx.HTTPError:
                    continue  # read timeouts between events: reconnect, as EventSource does

    def saw(self, comment_id: int) -> bool:
        return any(f'"id":{comment_id}' in f for f in self.frames)

    def close(self) -> None:
        self._stop.set()


@pytest.fixture
def two_servers(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str, TcpProxy]]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    host_port = redis_url.split("//", 1)[1].split("/", 1)[0]
    proxy = TcpProxy(int(host_port.rsplit(":", 1)[1]))
    db = redis_url.rsplit("/", 1)[1] if redis_url.count("/") >= 3 else "0"
    env = {"REJOINDER_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/{db}"}
    open_site(pg_url, SITE)
    ports = free_port(), free_port()
    procs = [start_server(pg_url, tmp_path, p, env) for p in ports]
    try:
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", proxy
    finally:
        proxy.close()
        for p in procs:
            p.terminate()
            p.wait(timeout=30)


def test_redis_stopped_and_back(two_servers: tuple[str, str, TcpProxy], tmp_path: Path) -> None:
    a, b, proxy = two_servers
    listener = Listener(b)
    try:
        assert listener.connected.wait(10)
        # Shared: B's cached page follows A's write, and B's live readers hear of it.
        _ids(b)
        first = _post(a, "before the outage")
        _eventually(lambda: first in _ids(b), 5, "B's page shows A's comment")
        _eventually(lambda: listener.saw(first), 5, "B's SSE reader hears of A's comment")

        proxy.down()
        during = []
        for i in range(10):
            base = (a, b)[i % 2]
            during.append(_post(base, f"while Redis is away {i}"))
            _ids(a)
            _ids(b)
        # Each process still serves its own writes at once; the other's within about a second
        # (a deaf process drops its cached pages at every reconnect attempt).
        lag = _eventually(lambda: set(during) <= _ids(a) and set(during) <= _ids(b), 5,
                          "both processes show every comment")

        proxy.up()
        after = []

        def shared_again() -> bool:
            after.append(_post(a, f"after the outage {len(after)}"))
            time.sleep(0.3)
            return listener.saw(after[-1])

        back = _eventually(shared_again, 20, "live events from A reach B's reader again")
        _eventually(lambda: after[-1] in _ids(b), 5, "B's page shows A's new comment")
    finally:
        listener.close()
    logs = "".join((tmp_path / f"server-{u.rsplit(':', 1)[1]}.log").read_text(errors="replace")
                   for u in (a, b))
    assert "redis subscription lost" in logs, logs[-2000:]
    assert "redis subscription restored" in logs, logs[-2000:]
    print(f"\nredis away: {len(during)} posts and {2 * len(during)} reads, all fine; "
          f"cross-process staleness {lag:.1f} s; shared again {back:.1f} s after Redis returned")
