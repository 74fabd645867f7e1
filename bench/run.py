"""`make bench`: load-test Rejoinder, Isso and nginx side by side on loopback with wrk.

Workloads (the same data on every server): GET a thread of 20, 200 and 1,000 comments (30%
replies; the first page of at most 200 top-level comments with all their replies, the same
`limit=200` asked of Isso), counts for 20 threads, and POST a comment (moderation on).
Servers: Rejoinder on SQLite (one process), Rejoinder on PostgreSQL + Redis (two processes),
Isso 0.14 (the Python peer; installed from PyPI into var/bench/isso-venv and run as its docs say,
gunicorn with 2 sync workers, SQLite), and nginx serving Rejoinder's identical JSON as static
files (the limit). Every wrk run lasts BENCH_SECONDS (default 8) seconds at BENCH_CONNECTIONS
(default 32; 8 for posting) with a 30 s timeout, so a slow server's p99 is its real latency.
Prints a table with the ratios Rejoinder/Isso and Rejoinder/nginx and checks the targets;
writes the `machine`, `workloads` and `targets` sections of bench/results.json.
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
from _results import update_results
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
POST_CONNECTIONS = 8
WRK_TIMEOUT = "30s"
PG_URL = os.environ.get("REJOINDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REJOINDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SIZES = (20, 200, 1000)
PAGE = 200  # top-level comments per thread page, asked of Rejoinder and Isso alike
SERVERS = ("rejoinder_sqlite", "rejoinder_postgres", "isso", "nginx_static")
# Isso and what it needs, pinned: a version set that installs and runs together on Python 3.11.
ISSO_VENV = ROOT / "var" / "bench" / "isso-venv"
ISSO_PINS = ("isso==0.14.0", "gunicorn==27.0.1", "Werkzeug==3.1.9", "Jinja2==3.1.6",
             "itsdangerous==2.2.0", "MarkupSafe==3.0.4", "bleach==6.4.0", "html5lib==1.1",
             "six==1.17.0", "webencodings==0.6.1", "mistune==3.4.0", "misaka==2.1.1",
             "cffi==2.1.1", "pycparser==3.12")
ISSO_WORKERS = 2
console = Console(width=120)


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


def shapes() -> dict[int, list[int | None]]:
    """Each thread's tree: for comment i, the index of its parent (30% replies) or None.

    Computed once and given to every server's seeder, so they all hold the same threads.
    """
    rnd = random.Random(7)
    out: dict[int, list[int | None]] = {}
    for size in SIZES:
        parents: list[int | None] = []
        for i in range(size):
            parents.append(rnd.randrange(i) if i and rnd.random() < 0.3 else None)
        out[size] = parents
    return out


def body(i: int) -> str:
    return (f"Comment {i}: a reasonable point about the story, with *some* Markdown and a link "
            f"https://example.org/{i}.")


def seed(env: dict[str, str], trees: dict[int, list[int | None]]) -> None:
    """Seed threads in bulk through the services (the null classifier: seeding is not measured)."""
    code = """
import json, sys
from rejoinder.app import build_services
from rejoinder.config import load_settings
from rejoinder.moderation.backends.null import NullClassifier
from rejoinder.services.comments import Client, PostCommand, post_comment
from rejoinder.services.sites import create_site
from rejoinder.storage.engine import Database, migrate
data = json.loads(sys.stdin.read())
s = load_settings()
migrate(s.resolved_database_url)
svc = build_services(s, Database(s.resolved_database_url), NullClassifier())
# Load comes from one address: lift the per-author rules (floods, duplicates, links) that
# would otherwise hold most of it, so the benchmark measures publishing.
create_site(svc, "bench", ["http://127.0.0.1"], settings={"flood_max": 10**9,
            "duplicate_threshold": 1.01, "max_links_new_author": 100})
for size, parents in data["trees"].items():
    ids = []
    for i, p in enumerate(parents):
        r = post_comment(svc, PostCommand(site="bench", thread=f"/thread-{size}",
            body=data["bodies"][i],
            author_name=f"Reader {i % 37}", parent_id=None if p is None else ids[p]),
            Client(ip=f"10.0.{i % 250}.1"))
        ids.append(r.comment.id)
for t in range(20):
    for i in range(3):
        post_comment(svc, PostCommand(site="bench", thread=f"/count-{t}", body="Nice piece."), Client(ip="10.1.0.1"))
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True, text=True,
                   input=json.dumps({"trees": {str(k): v for k, v in trees.items()},
                                     "bodies": [body(i) for i in range(max(SIZES))]}))


def peak_rss_mb(root_pid: int) -> tuple[float, int]:
    """Peak resident memory (VmHWM) of a process and all its descendants, summed, in MB."""
    total = 0
    pids = [root_pid, *_children(root_pid)]
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return round(total / 1024, 1), len(pids)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids + [g for k in kids for g in _children(k)]


def wait_http(url: str, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


class Server:
    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rejoinder", "serve", "--port", str(self.port),
             "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_http(f"{self.base}/healthz", "rejoinder")

    def rss_mb(self) -> tuple[float, int]:
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        stop(self.proc)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


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

ISSO_POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"author": "Bench", "text": "Posting under load, comment ' .. counter .. ' with a view on the council budget."}'
  return wrk.format(nil, nil, nil, body)
end
"""

ISSO_COUNT_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '[URIS]'
""".replace("URIS", ", ".join(f'"/count-{t}"' for t in range(20)))


def wrk(url: str, *, script: str | None = None, connections: int = CONNECTIONS) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency", "--timeout", WRK_TIMEOUT]
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

    done = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    result: dict[str, Any] = {"rps": round(rps, 1), "p50_ms": pct("50"), "p99_ms": pct("99"),
                              "requests": int(done.group(1)) if done else 0}
    if non2xx:
        result["non_2xx"] = int(non2xx.group(1))
    if errors:
        result["socket_errors"] = errors.group(0)
    return result


def thread_url(base: str, size: int) -> str:
    return f"{base}/api/v1/comments?site=bench&thread={quote(f'/thread-{size}')}&limit={PAGE}"


def counts_url(base: str) -> str:
    return f"{base}/api/v1/counts?site=bench&" + "&".join(f"thread=/count-{t}" for t in range(20))


def count_rejoinder(page: dict[str, Any]) -> int:
    def walk(cs: list[dict[str, Any]]) -> int:
        return sum(1 + walk(c["replies"]) for c in cs)
    return walk(page["comments"])


def count_isso(page: dict[str, Any]) -> int:
    return sum(1 + len(c.get("replies", [])) for c in page["replies"])


def run_rejoinder(name: str, env: dict[str, str], workers: int, results: dict[str, Any],
                  trees: dict[int, list[int | None]], tmp: Path) -> dict[str, str]:
    console.print(f"[bold]{name}[/bold]: seeding")
    seed(env, trees)
    script = tmp / "post.lua"
    script.write_text(POST_LUA)
    server = Server(env, workers)
    bodies: dict[str, str] = {}
    try:
        for size in SIZES:
            url = thread_url(server.base, size)
            bodies[f"thread_{size}_get"] = httpx.get(url).text
            console.print(f"  GET thread of {size}")
            r = results.setdefault(f"thread_{size}_get", {})[name] = wrk(url)
            r["comments_returned"] = count_rejoinder(json.loads(bodies[f"thread_{size}_get"]))
        console.print("  counts for 20 threads")
        results.setdefault("counts_20", {})[name] = wrk(counts_url(server.base))
        bodies["counts_20"] = httpx.get(counts_url(server.base)).text
        console.print("  POST")
        results.setdefault("post", {})[name] = wrk(f"{server.base}/api/v1/comments",
                                                   script=str(script), connections=POST_CONNECTIONS)
        rss, procs = server.rss_mb()
        for workload in results.values():
            if name in workload:
                workload[name]["rss_mb"] = rss
                workload[name]["processes"] = procs
    finally:
        server.stop()
    return bodies


def isso_venv() -> Path:
    """Create var/bench/isso-venv with the pinned Isso, once (re-created if the pins change)."""
    marker = ISSO_VENV / "pins.txt"
    want = "\n".join(ISSO_PINS)
    if not (marker.exists() and marker.read_text() == want):
        console.print("[bold]isso[/bold]: creating var/bench/isso-venv (pip install isso gunicorn)")
        shutil.rmtree(ISSO_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(ISSO_VENV)], check=True)
        subprocess.run([str(ISSO_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        *ISSO_PINS], check=True)
        marker.write_text(want)
    return ISSO_VENV


def seed_isso(base: str, trees: dict[int, list[int | None]]) -> None:
    """The same threads, posted through Isso's own API (POST /new?uri=…, replies via parent)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        def new(uri: str, data: dict[str, Any]) -> int:
            r = client.post("/new", params={"uri": uri}, json=data)
            r.raise_for_status()
            client.cookies.clear()  # Isso sets one edit cookie per comment: don't send them all back
            return int(r.json()["id"])

        for size, parents in trees.items():
            ids: list[int] = []
            for i, p in enumerate(parents):
                data: dict[str, Any] = {"text": body(i), "author": f"Reader {i % 37}",
                                        "title": f"Thread {size}"}
                if p is not None:
                    data["parent"] = ids[p]
                ids.append(new(f"/thread-{size}", data))
        for t in range(20):
            for _ in range(3):
                new(f"/count-{t}", {"text": "Nice piece.", "title": f"Count {t}"})
        new("/post", {"text": "The first comment.", "title": "Post"})


def run_isso(results: dict[str, Any], trees: dict[int, list[int | None]], tmp: Path) -> None:
    venv = isso_venv()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = ROOT / "var" / "bench" / "isso.db"
    db.unlink(missing_ok=True)
    cfg = tmp / "isso.cfg"
    # Moderation off (published at once, like Rejoinder's verdict "publish"), guard off so
    # posting from one address is not throttled, host = the origin the load claims to be.
    cfg.write_text(f"""[general]
dbpath = {db}
host = http://127.0.0.1
[moderation]
enabled = false
[guard]
enabled = false
[server]
listen = {base}
""")
    post_lua, count_lua = tmp / "isso_post.lua", tmp / "isso_count.lua"
    post_lua.write_text(ISSO_POST_LUA)
    count_lua.write_text(ISSO_COUNT_LUA)
    # Isso's documented deployment: gunicorn -w N --preload isso.run, ISSO_SETTINGS=the config.
    proc = subprocess.Popen(
        [str(venv / "bin" / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", str(ISSO_WORKERS),
         "--preload", "isso.run"],
        env={**os.environ, "ISSO_SETTINGS": str(cfg)}, cwd=tmp, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=(tmp / "isso.log").open("w"),
    )
    try:
        wait_http(f"{base}/?uri=/none", "isso")
        console.print("[bold]isso[/bold]: seeding through its API")
        seed_isso(base, trees)
        for size in SIZES:
            url = f"{base}/?uri={quote(f'/thread-{size}')}&limit={PAGE}"
            console.print(f"  GET thread of {size}")
            r = results.setdefault(f"thread_{size}_get", {})["isso"] = wrk(url)
            r["comments_returned"] = count_isso(httpx.get(url, timeout=60).json())
        console.print("  counts for 20 threads")
        check = httpx.post(f"{base}/count", json=[f"/count-{t}" for t in range(20)], timeout=60)
        assert check.json() == [3] * 20, check.text
        results.setdefault("counts_20", {})["isso"] = wrk(f"{base}/count", script=str(count_lua))
        console.print("  POST")
        results.setdefault("post", {})["isso"] = wrk(f"{base}/new?uri=/post", script=str(post_lua),
                                                     connections=POST_CONNECTIONS)
        rss, procs = peak_rss_mb(proc.pid)
        for workload in results.values():
            if "isso" in workload:
                workload["isso"]["rss_mb"] = rss
                workload["isso"]["processes"] = procs
    finally:
        stop(proc)


def run_nginx(bodies: dict[str, str], results: dict[str, Any], tmp: Path) -> None:
    root = tmp / "www"
    root.mkdir()
    for name, text in bodies.items():
        (root / f"{name}.json").write_text(text)
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
        rss, procs = peak_rss_mb(proc.pid)
        for name in bodies:
            results[name]["nginx_static"]["rss_mb"] = rss
            results[name]["nginx_static"]["processes"] = procs
    finally:
        stop(proc)


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
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    backend = os.environ.get("BENCH_MODERATION", "default")
    trees = shapes()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        common = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_RATE_LIMITS": "off",
                  "REJOINDER_MODERATION_BACKEND": backend, "REJOINDER_CREATE_DEMO": "false",
                  "REJOINDER_LOG_LEVEL": "warning"}
        sqlite_env = {**common, "REJOINDER_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        bodies = run_rejoinder("rejoinder_sqlite", sqlite_env, 1, results, trees, tmp)
        pg_env = {**common, "REJOINDER_DATABASE_URL": reset_pg_schema("bench"),
                  "REJOINDER_REDIS_URL": REDIS_URL}
        run_rejoinder("rejoinder_postgres", pg_env, 2, results, trees, tmp)
        run_isso(results, trees, tmp)
        run_nginx(bodies, results, tmp)
    results = {w: {s: results[w][s] for s in SERVERS if s in results[w]} for w in results}
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(),
               "python": platform.python_version(), "seconds_per_run": SECONDS,
               "connections": CONNECTIONS, "post_connections": POST_CONNECTIONS,
               "wrk_timeout": WRK_TIMEOUT, "thread_page_limit": PAGE,
               "moderation_backend": backend, "isso": ISSO_PINS[0],
               "rss": "peak RSS (VmHWM) summed over every process of the server ('processes'): "
                      "uvicorn's supervisor and workers, gunicorn's master and 2 workers, "
                      "nginx's master and 2 workers",
               # The machine is shared: other work running meanwhile shows here, and lowers
               # every figure (nginx's most of all, as it is the fastest).
               "loadavg_1_5_15_before": [round(x, 2) for x in load_before],
               "loadavg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
               "date": time.strftime("%Y-%m-%d")}
    targets = check_targets(results)
    update_results({"machine": machine, "workloads": results, "targets": targets},
                   merge=("workloads",))
    print_table(results)
    print_targets(targets)


def ratio(results: dict[str, Any], workload: str, target: str, base: str) -> float | None:
    a = results.get(workload, {}).get(target, {}).get("rps")
    b = results.get(workload, {}).get(base, {}).get("rps")
    return round(a / b, 2) if a and b else None


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, per Rejoinder configuration: what was asked, what was measured."""
    out: list[dict[str, Any]] = []

    def add(target: str, what: str, measured: float | None, goal: float,
            higher: bool = True) -> None:
        met = measured is not None and (measured >= goal if higher else measured < goal)
        out.append({"server": target, "target": what, "goal": goal, "measured": measured,
                    "met": met})

    for target in ("rejoinder_sqlite", "rejoinder_postgres"):
        add(target, "thread_200_get rps / isso >=", ratio(results, "thread_200_get", target, "isso"), 100)
        add(target, "thread_200_get rps / nginx >=", ratio(results, "thread_200_get", target, "nginx_static"), 0.5)
        add(target, "thread_200_get p99 ms <", results["thread_200_get"][target]["p99_ms"], 10, higher=False)
        add(target, "counts_20 rps / isso >=", ratio(results, "counts_20", target, "isso"), 10)
        add(target, "post rps / isso >=", ratio(results, "post", target, "isso"), 3)
    return out


def print_table(results: dict[str, Any]) -> None:
    table = Table(title=f"Side by side ({CONNECTIONS} connections, {POST_CONNECTIONS} for POST; "
                        f"{SECONDS}s each; wrk on loopback)")
    for col in ("workload", "server", "req/s", "p50 ms", "p99 ms", "peak RSS MB", "procs",
                "× Isso", "× nginx"):
        table.add_column(col, justify="left" if col in ("workload", "server") else "right")
    for workload, targets in results.items():
        for target, r in targets.items():
            mine = target.startswith("rejoinder")
            vs_isso = ratio(results, workload, target, "isso") if mine else None
            vs_nginx = ratio(results, workload, target, "nginx_static") if mine else None
            table.add_row(workload, target, f"{r['rps']:.1f}", f"{r['p50_ms']:.2f}",
                          f"{r['p99_ms']:.2f}", f"{r.get('rss_mb', 0):.0f}",
                          str(r.get("processes", "")),
                          f"{vs_isso:.1f}" if vs_isso else "", f"{vs_nginx:.2f}" if vs_nginx else "")
    console.print(table)
    console.print("peak RSS: VmHWM summed over every process of the server (procs column).")


def print_targets(targets: list[dict[str, Any]]) -> None:
    table = Table(title="Targets (issue 8)")
    for col in ("server", "target", "goal", "measured", "met"):
        table.add_column(col)
    for t in targets:
        table.add_row(t["server"], t["target"], str(t["goal"]), str(t["measured"]),
                      "[green]yes[/green]" if t["met"] else "[red]no[/red]")
    console.print(table)


if __name__ == "__main__":
    main()
