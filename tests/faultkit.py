"""Fault injection for the reliability tests: a TCP proxy that can drop its connections and refuse
new ones for a while, and helpers to start a real `rejoinder serve` process.

The proxy stands between the server and PostgreSQL. `down()` does to the server what a database
restart does: every open connection is cut mid-conversation, and new connections fail until
`up()`. Unlike a real restart it touches no other user of the shared PostgreSQL, so it can run in
`make test`; `make faults` also restarts the real cluster (see test_pg_outage.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = False
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                self.refused += 1
                client.close()  # what a client sees while the database is down
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src)
            self._drop(dst)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def down(self) -> None:
        self._up.clear()
        with self._lock:
            sockets = list(self._open)
        for s in sockets:
            self._drop(s)

    def up(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.down()
        self._listener.close()


def start_server(db_url: str, data_dir: Path, port: int,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `rejoinder serve` on `port` and wait until /healthz answers."""
    env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_RATE_LIMITS": "off",
           "REJOINDER_DATABASE_URL": db_url.replace("postgresql+psycopg", "postgresql"),
           "REJOINDER_MODERATION_BACKEND": "keywords", "REJOINDER_DATA_DIR": str(data_dir),
           **(extra_env or {})}
    log = open(data_dir / f"server-{port}.log", "ab")  # noqa: SIM115  # lives as long as the process
    proc = subprocess.Popen([sys.executable, "-m", "rejoinder", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


def cli(db_url: str, *args: str) -> str:
    """Run the `rejoinder` CLI against `db_url` (as an operator would, in another process)."""
    env = {**os.environ, "REJOINDER_ENV": "development",
           "REJOINDER_DATABASE_URL": db_url.replace("postgresql+psycopg", "postgresql")}
    done = subprocess.run([sys.executable, "-m", "rejoinder", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def open_site(db_url: str, slug: str) -> None:
    """A site for a load test: many posts come from one address, so lift the per-author flood and
    duplicate rules (they would hold the burst, which is right for readers, wrong for the test)."""
    cli(db_url, "site", "create", slug, "--origin", "http://faults.example")
    cli(db_url, "site", "set", slug, "flood_max=1000000", "duplicate_threshold=1.01")
