"""`make soak`: a bounded soak run at a steady mixed load; no errors and flat memory, or exit 1.

One `rejoinder serve` process on SQLite (or PostgreSQL + Redis with SOAK_DB=postgres), the default
moderation models on, rate limits off (one load generator stands for many readers). The load is
paced, not flat out: SOAK_RPS requests a second (default 60), of which 85% read a thread, 7% read
counts, 6% post a comment (a quarter of them replies) and 2% vote. A soak asks "does it stay
healthy", not "how fast": a steady rate keeps the question apart from the benchmark's.

Every SAMPLE_SECONDS the server's resident memory is read from /proc. Pass when no request failed
(no transport error, no status other than 2xx) and memory is flat: the last quarter's median RSS is
within SOAK_RSS_GROWTH (default 10%) of the median over the second quarter (the first quarter is
warm-up: caches, model arenas and SQLite's page cache fill then). Results go to the `soak` section of
bench/results.json.

    SOAK_MINUTES=20 (default) SOAK_RPS=60 SOAK_DB=sqlite|postgres python bench/soak.py
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
MINUTES = float(os.environ.get("SOAK_MINUTES", "20"))
RPS = float(os.environ.get("SOAK_RPS", "60"))
DB = os.environ.get("SOAK_DB", "sqlite")
GROWTH = float(os.environ.get("SOAK_RSS_GROWTH", "0.10"))
SAMPLE_SECONDS = 10.0
THREADS = 50
PG_URL = os.environ.get("REJOINDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REJOINDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
console = Console(width=110)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_pg(schema: str) -> str:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def start(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_RATE_LIMITS": "off",
           "REJOINDER_DATA_DIR": str(tmp), "REJOINDER_MODERATION_BACKEND": "default"}
    if DB == "postgres":
        env["REJOINDER_DATABASE_URL"] = reset_pg("soak")
        env["REJOINDER_REDIS_URL"] = REDIS_URL
    else:
        env["REJOINDER_DATABASE_URL"] = f"sqlite:///{tmp / 'soak.sqlite3'}"
    rejoinder = str(Path(sys.executable).with_name("rejoinder"))
    subprocess.run([rejoinder, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([rejoinder, "site", "create", "soak", "--origin", "http://soak.example"],
                   env=env, check=True, capture_output=True)
    # Many posts come from one address here; per-author flood and duplicate rules would hold them.
    subprocess.run([rejoinder, "site", "set", "soak", "flood_max=1000000",
                    "duplicate_threshold=1.01"], env=env, check=True, capture_output=True)
    log = open(tmp / "server.log", "wb")  # noqa: SIM115  # lives as long as the process
    proc = subprocess.Popen([rejoinder, "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


WORDS = ("council", "budget", "river", "school", "vote", "argument", "evidence", "library",
         "transport", "housing", "ferry", "bakery", "schedule", "season", "data", "report")


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30))).capitalize() + "."


class Soak:
    def __init__(self, base: str) -> None:
        self.base = base
        self.rng = random.Random(7)
        self.statuses: Counter[str] = Counter()
        self.failures: list[str] = []
        self.latencies: list[float] = []
        self.comments: dict[str, list[int]] = {f"/soak/{i}": [] for i in range(THREADS)}
        self.posted = 0
        self.behind = 0  # due requests skipped because the server was behind schedule

    async def one(self, http: httpx.AsyncClient) -> None:
        roll = self.rng.random()
        thread = f"/soak/{self.rng.randrange(THREADS)}"
        started = time.perf_counter()
        try:
            if roll < 0.85:
                kind = "read"
                r = await http.get("/api/v1/comments", params={"site": "soak", "thread": thread})
            elif roll < 0.92:
                kind = "counts"
                r = await http.get("/api/v1/counts", params=[("site", "soak")] + [
                    ("thread", f"/soak/{i}") for i in self.rng.sample(range(THREADS), 20)])
            elif roll < 0.98:
                kind = "post"
                ids = self.comments[thread]
                data: dict[str, Any] = {"site": "soak", "thread": thread,
                                        "body": f"{sentence(self.rng)} #{self.posted}"}
                self.posted += 1
                if ids and self.rng.random() < 0.25:
                    data["parent_id"] = self.rng.choice(ids)
                r = await http.post("/api/v1/comments", json=data)
                if r.status_code == 201 and r.json()["status"] == "published":
                    ids.append(r.json()["id"])
            else:
                kind = "vote"
                ids = self.comments[thread]
                if not ids:
                    return
                r = await http.post(f"/api/v1/comments/{self.rng.choice(ids)}/votes",
                                    json={"value": self.rng.choice((1, -1))},
                                    headers={"X-Forwarded-For": f"10.0.{self.rng.randrange(250)}.1"})
        except httpx.HTTPError as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
            return
        self.latencies.append(time.perf_counter() - started)
        self.statuses[f"{kind} {r.status_code}"] += 1
        if not 200 <= r.status_code < 300:
            self.failures.append(f"{kind} {r.status_code}: {r.text[:200]}")


WORKERS = 16  # concurrent requests at most; the pool never queues (httpcore's queue is O(n^2))


async def drive(soak: Soak, pid: int, seconds: float) -> list[tuple[float, float]]:
    """Pace requests at RPS through WORKERS coroutines. If the server (or this machine) falls
    behind, due requests are not queued without bound: they are counted as `behind` and the
    schedule moves on, so a slow spell shows up as a figure instead of a growing backlog."""
    samples: list[tuple[float, float]] = []
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
    tickets: asyncio.Queue[None] = asyncio.Queue(maxsize=WORKERS * 2)

    async def worker(http: httpx.AsyncClient) -> None:
        while True:
            await tickets.get()
            try:
                await soak.one(http)
            finally:
                tickets.task_done()

    async with httpx.AsyncClient(base_url=soak.base, timeout=10, limits=limits,
                                 headers={"Origin": "http://soak.example"}) as http:
        workers = [asyncio.create_task(worker(http)) for _ in range(WORKERS)]
        started = time.monotonic()
        next_sample = started
        issued = 0
        with Progress(TextColumn("soak"), BarColumn(), TextColumn("{task.fields[info]}"),
                      TimeRemainingColumn(), console=console) as bar:
            task = bar.add_task("soak", total=seconds, info="")
            while (now := time.monotonic()) - started < seconds:
                if now >= next_sample:
                    samples.append((now - started, rss_mb(pid)))
                    next_sample += SAMPLE_SECONDS
                    bar.update(task, completed=now - started,
                               info=f"{issued} requests, {soak.behind} behind, "
                                    f"{len(soak.failures)} failures, RSS {samples[-1][1]:.0f} MB")
                due = int((now - started) * RPS)
                while issued < due:  # paced: the schedule, not the server, sets the rate
                    issued += 1
                    try:
                        tickets.put_nowait(None)
                    except asyncio.QueueFull:
                        soak.behind += 1
                await asyncio.sleep(0.005)
            await tickets.join()
        for w in workers:
            w.cancel()
    samples.append((time.monotonic() - started, rss_mb(pid)))
    return samples


def main() -> int:
    seconds = MINUTES * 60
    with tempfile.TemporaryDirectory() as tmpdir:
        proc, base = start(Path(tmpdir))
        try:
            soak = Soak(base)
            samples = asyncio.run(drive(soak, proc.pid, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    quarter = len(samples) // 4 or 1
    warm = statistics.median(r for _, r in samples[quarter:2 * quarter] or samples)
    last = statistics.median(r for _, r in samples[-quarter:])
    growth = (last - warm) / warm if warm else 0.0
    lat = sorted(soak.latencies)

    def p(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0

    ok = not soak.failures and growth <= GROWTH
    result = {"db": DB, "minutes": MINUTES, "target_rps": RPS,
              "requests": sum(soak.statuses.values()), "achieved_rps": round(len(lat) / seconds, 1),
              "failures": len(soak.failures), "behind_schedule": soak.behind,
              "statuses": dict(soak.statuses),
              "p50_ms": round(p(0.5), 2), "p99_ms": round(p(0.99), 2),
              "rss_mb_start": round(samples[0][1], 1), "rss_mb_warm": round(warm, 1),
              "rss_mb_end": round(last, 1), "rss_growth": round(growth, 4),
              "rss_samples": [[round(t), round(r, 1)] for t, r in samples], "passed": ok}
    table = Table(title=f"soak: {MINUTES:g} min at {RPS:g} req/s on {DB}")
    for col in ("requests", "behind", "failures", "p50 ms", "p99 ms", "RSS warm MB", "RSS end MB",
                "growth", "verdict"):
        table.add_column(col, justify="right")
    table.add_row(str(result["requests"]), str(soak.behind), str(result["failures"]), f"{result['p50_ms']:.1f}",
                  f"{result['p99_ms']:.1f}", f"{warm:.0f}", f"{last:.0f}", f"{growth:+.1%}",
                  "PASS" if ok else "FAIL")
    console.print(table)
    console.print(dict(soak.statuses))
    for failure in soak.failures[:20]:
        console.print(f"[red]{failure}")
    out = ROOT / "bench" / "results.json"
    data = json.loads(out.read_text()) if out.exists() else {}
    data.setdefault("soak", {})[DB] = result
    out.write_text(json.dumps(data, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
