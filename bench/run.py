"""`make bench`: load-test Rejoinder on loopback with wrk and print a table.

Workloads: GET a thread of 20, 200 and 1,000 comments (30% replies), counts for 20 threads, and
POST a comment. Targets: Rejoinder on SQLite (one process), Rejoinder on PostgreSQL + Redis (two
processes), and nginx serving the identical thread JSON as a static file (the limit).
Writes bench/results.json. Bounded: every wrk run lasts BENCH_SECONDS (default 8) seconds.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
PG_URL = os.environ.get("REJOINDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REJOINDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SIZES = (20, 200, 1000)
console = Console(width=110)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_tools() -> None:
    missing = [t for t in ("wrk", "nginx") if not shutil.which(t) and not Path(f"/usr/sbin/{t}").exists()]
    if missing:
        console.print(f"installing {missing} from Debian")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        pkgs = ["wrk" if m == "wrk" else "nginx-light" for m in missing]
        subprocess.run(["apt-get", "install", "-y", "-qq", *pkgs], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def seed(env: dict[str, str]) -> None:
    """Seed threads in bulk through the services (the null classifier: seeding is not measured)."""
    code = f"""
import random
from rejoinder.app import build_services
from rejoinder.config import load_settings
from rejoinder.moderation.backends.null import NullClassifier
from rejoinder.services.comments import Client, PostCommand, post_comment
from rejoinder.services.sites import create_site
from rejoinder.storage.engine import Database, migrate
s = load_settings()
migrate(s.resolved_database_url)
svc = build_services(s, Database(s.resolved_database_url), NullClassifier())
# Load comes from one address: lift the per-author rules (floods, duplicates, links) that
# would otherwise hold most of it, so the benchmark measures publishing.
create_site(svc, "bench", ["http://127.0.0.1"], settings={{"flood_max": 10**9,
            "duplicate_threshold": 1.01, "max_links_new_author": 100}})
rnd = random.Random(7)
for size in {SIZES!r}:
    ids = []
    for i in range(size):
        parent = rnd.choice(ids) if ids and rnd.random() < 0.3 else None
        r = post_comment(svc, PostCommand(site="bench", thread=f"/thread-{{size}}",
            body=f"Comment {{i}}: a reasonable point about the story, with *some* Markdown and a link https://example.org/{{i}}.",
            author_name=f"Reader {{i % 37}}", parent_id=parent), Client(ip=f"10.0.{{i % 250}}.1"))
        ids.append(r.comment.id)
for t in range(20):
    for i in range(3):
        post_comment(svc, PostCommand(site="bench", thread=f"/count-{{t}}", body="hi"), Client(ip="10.1.0.1"))
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


class Server:
    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "serve", "--port", str(self.port),
             "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError("server did not start")

    def rss_mb(self) -> float:
        """Peak resident memory of the server and its workers (VmHWM), in MB."""
        total = 0
        pids = [self.proc.pid] + _children(self.proc.pid)
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                pass
        return round(total / 1024, 1)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids + [g for k in kids for g in _children(k)]


POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"site": "bench", "thread": "/post", "body": "Posting under load, comment ' .. counter .. ' with a view on the council budget."}'
  return wrk.format(nil, nil, nil, body)
end
"""


def wrk(url: str, *, script: str | None = None, connections: int = CONNECTIONS) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 3)

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    result = {"rps": round(rps, 1), "p50_ms": pct("50"), "p99_ms": pct("99")}
    if non2xx:
        result["non_2xx"] = int(non2xx.group(1))
    if errors:
        result["socket_errors"] = errors.group(0)  # type: ignore[assignment]
    return result


def thread_url(base: str, size: int) -> str:
    return f"{base}/api/v1/comments?site=bench&thread={quote(f'/thread-{size}')}&limit=200"


def counts_url(base: str) -> str:
    return f"{base}/api/v1/counts?site=bench&" + "&".join(f"thread=/count-{t}" for t in range(20))


def run_rejoinder(name: str, env: dict[str, str], workers: int, results: dict[str, Any],
                  post_script: str) -> dict[str, str]:
    console.print(f"[bold]{name}[/bold]: seeding")
    seed(env)
    server = Server(env, workers)
    bodies: dict[str, str] = {}
    try:
        for size in SIZES:
            url = thread_url(server.base, size)
            bodies[f"thread_{size}_get"] = httpx.get(url).text
            console.print(f"  GET thread of {size}")
            results.setdefault(f"thread_{size}_get", {})[name] = wrk(url)
        console.print("  counts for 20 threads")
        results.setdefault("counts_20", {})[name] = wrk(counts_url(server.base))
        bodies["counts_20"] = httpx.get(counts_url(server.base)).text
        console.print("  POST")
        results.setdefault("post", {})[name] = wrk(f"{server.base}/api/v1/comments",
                                                   script=post_script, connections=8)
        rss = server.rss_mb()
        for workload in results.values():
            if name in workload:
                workload[name]["rss_mb"] = rss
    finally:
        server.stop()
    return bodies


def run_nginx(bodies: dict[str, str], results: dict[str, Any], tmp: Path) -> None:
    root = tmp / "www"
    root.mkdir()
    for name, body in bodies.items():
        (root / f"{name}.json").write_text(body)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 2; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  types {{ application/json json; }}
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], start_new_session=True)
    time.sleep(1)
    try:
        for name in bodies:
            console.print(f"[bold]nginx_static[/bold]: {name}")
            results.setdefault(name, {})["nginx_static"] = wrk(f"http://127.0.0.1:{port}/{name}.json")
        rss = 0.0
        for pid in [proc.pid] + _children(proc.pid):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss += int(line.split()[1]) / 1024
        for name in bodies:
            results[name]["nginx_static"]["rss_mb"] = round(rss, 1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def reset_pg_schema(schema: str) -> str:
    from sqlalchemy import create_engine, text

    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    ensure_tools()
    results: dict[str, Any] = {}
    backend = os.environ.get("BENCH_MODERATION", "default")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        script = tmp / "post.lua"
        script.write_text(POST_LUA)
        common = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_RATE_LIMITS": "off",
                  "REJOINDER_MODERATION_BACKEND": backend, "REJOINDER_CREATE_DEMO": "false",
                  "REJOINDER_LOG_LEVEL": "warning"}
        sqlite_env = {**common, "REJOINDER_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        bodies = run_rejoinder("rejoinder_sqlite", sqlite_env, 1, results, str(script))
        pg_env = {**common, "REJOINDER_DATABASE_URL": reset_pg_schema("bench"),
                  "REJOINDER_REDIS_URL": REDIS_URL}
        run_rejoinder("rejoinder_postgres", pg_env, 2, results, str(script))
        run_nginx(bodies, results, tmp)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(),
               "python": platform.python_version(), "seconds_per_run": SECONDS,
               "connections": CONNECTIONS, "moderation_backend": backend,
               "date": time.strftime("%Y-%m-%d")}
    out = {"machine": machine, "workloads": results}
    (ROOT / "bench" / "results.json").write_text(json.dumps(out, indent=2) + "\n")
    print_table(results)


def print_table(results: dict[str, Any]) -> None:
    table = Table(title=f"Rejoinder benchmark ({CONNECTIONS} connections, {SECONDS}s each, wrk)")
    for col in ("workload", "target", "req/s", "p50 ms", "p99 ms", "peak RSS MB", "vs nginx"):
        table.add_column(col, justify="right" if col not in ("workload", "target") else "left")
    for workload, targets in results.items():
        limit = targets.get("nginx_static", {}).get("rps")
        for target, r in targets.items():
            ratio = f"{r['rps'] / limit:.2f}" if limit and target != "nginx_static" else ""
            table.add_row(workload, target, f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}",
                          f"{r['p99_ms']:.2f}", f"{r.get('rss_mb', 0):.0f}", ratio)
    console.print(table)


if __name__ == "__main__":
    main()
