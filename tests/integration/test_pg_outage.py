"""PostgreSQL goes away under load and comes back (issue 6, reliability).

A real `rejoinder serve` process takes a steady stream of posts and reads while its database
disappears for a few seconds. Required: no 5xx other than 503 (with Retry-After); the same process
serves again once the database is back, without a restart of its own; every comment that got a
201 is stored exactly once; retrying what got a 503 or no answer (with its Idempotency-Key)
creates nothing twice.

Two ways to take the database away:
- `proxy` (in `make test`): a TCP proxy between server and PostgreSQL cuts every connection and
  refuses new ones, which is what a restart looks like from the server, without disturbing other
  users of the shared cluster;
- `restart` (`make faults` only, marker `faults`): `pg_ctlcluster … restart` of the real cluster.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from tests.faultkit import TcpProxy, free_port, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]

THREAD = "/faults/pg-outage"


@dataclass
class Load:
    base: str
    acknowledged: dict[str, int] = field(default_factory=dict)
    retry: list[str] = field(default_factory=list)  # got 503 or no answer: the client retries
    statuses: Counter[int] = field(default_factory=Counter)
    reads: Counter[int] = field(default_factory=Counter)
    missing_retry_after: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def post(self, worker: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = 0
            while not self.stop.is_set():
                key = f"w{worker}-{i}"
                i += 1
                try:
                    r = http.post(f"{self.base}/api/v1/comments",
                                  headers={"Idempotency-Key": key},
                                  json={"site": "demo", "thread": THREAD, "body": f"load {key}"})
                except httpx.TransportError:
                    with self.lock:
                        self.retry.append(key)
                    continue
                with self.lock:
                    self.statuses[r.status_code] += 1
                    if r.status_code == 201:
                        self.acknowledged[key] = r.json()["id"]
                    else:
                        self.retry.append(key)
                        if r.status_code == 503 and "retry-after" not in r.headers:
                            self.missing_retry_after += 1
                if r.status_code == 503:
                    time.sleep(0.2)  # a polite client backs off

    def read(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set():
                try:
                    r = http.get(f"{self.base}/api/v1/comments",
                                 params={"site": "demo", "thread": THREAD, "sort": "newest"})
                except httpx.TransportError:
                    continue
                with self.lock:
                    self.reads[r.status_code] += 1
                time.sleep(0.02)

    def acked(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def _wait(cond: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _restart_cluster() -> None:
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                             check=True).stdout
    version, name = next(line.split()[:2] for line in listing.splitlines()
                         if re.search(r"\b5432\b", line))
    subprocess.run(["pg_ctlcluster", version, name, "restart"], check=True, timeout=120)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    p = TcpProxy(5432)
    yield p
    p.close()


@pytest.mark.parametrize("how", ["proxy", pytest.param("restart", marks=pytest.mark.faults)])
def test_database_outage_under_load(how: str, pg_url: str, proxy: TcpProxy,
                                    tmp_path: Path) -> None:
    if how == "restart" and not shutil.which("pg_ctlcluster"):
        pytest.fail("make faults needs pg_ctlcluster (Debian's postgresql-common)")
    url = pg_url.replace(":5432/", f":{proxy.port}/") if how == "proxy" else pg_url
    port = free_port()
    server = start_server(url, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    load = Load(base)
    workers = [threading.Thread(target=load.post, args=(w,)) for w in range(3)]
    workers.append(threading.Thread(target=load.read))
    try:
        for t in workers:
            t.start()
        _wait(lambda: load.acked() >= 30, 60, "30 acknowledged posts before the outage")
        before = load.acked()
        if how == "proxy":
            proxy.down()
            time.sleep(4)
            proxy.up()
        else:
            _restart_cluster()
        outage_over = time.monotonic()
        _wait(lambda: load.acked() >= before + 30, 60, "30 more acknowledged posts after")
        recovered_in = time.monotonic() - outage_over
    finally:
        load.stop.set()
        for t in workers:
            t.join()
    assert server.poll() is None, "the server died instead of riding out the outage"
    server.terminate()
    server.wait(timeout=30)

    assert set(load.statuses) <= {201, 503}, load.statuses
    assert set(load.reads) <= {200, 503}, load.reads
    assert load.statuses[503] > 0 or how == "restart", "the outage never reached a client"
    assert load.missing_retry_after == 0

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.id, c.body_md FROM comments c JOIN threads t ON t.id = c.thread_id "
            "WHERE t.key = :k"), {"k": THREAD}).all()
    stored: dict[str, int] = {}
    for comment_id, body in rows:
        key = body.removeprefix("load ")
        assert key not in stored, f"{key} stored twice"
        stored[key] = comment_id
    for key, comment_id in load.acknowledged.items():
        assert stored.get(key) == comment_id, f"acknowledged {key} was lost"

    # The clients retry what failed, against a fresh process: nothing is created twice.
    server = start_server(pg_url, tmp_path, port)
    try:
        with httpx.Client(timeout=10) as http:
            for key in load.retry:
                r = http.post(f"{base}/api/v1/comments", headers={"Idempotency-Key": key},
                              json={"site": "demo", "thread": THREAD, "body": f"load {key}"})
                assert r.status_code in (200, 201), r.text
                if key in stored:
                    assert r.status_code == 200 and r.json()["id"] == stored[key]
    finally:
        server.terminate()
        server.wait(timeout=30)
    with engine.connect() as conn:
        total = conn.execute(text(
            "SELECT count(*) FROM comments c JOIN threads t ON t.id = c.thread_id "
            "WHERE t.key = :k"), {"k": THREAD}).scalar_one()
    engine.dispose()
    assert total == len(set(load.acknowledged) | set(load.retry))
    print(f"\n{how}: {sum(load.statuses.values())} posts answered {dict(load.statuses)}, "
          f"{len(load.acknowledged)} acknowledged and all found, {len(load.retry)} retried, "
          f"reads {dict(load.reads)}, back {recovered_in:.1f} s after the outage")
