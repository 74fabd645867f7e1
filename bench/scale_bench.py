"""`make bench-scale`: is reading a thread as fast at 10 million stored comments as at 10 thousand?

    python bench/scale_bench.py                        # 10,000 then 10,000,000 comments
    python bench/scale_bench.py --large 1000000        # quicker

Builds a database of its own (`rejoinder_scale`, dropped at the end: at 10M it takes ~8 GB),
runs `rejoinder migrate`, and bulk-generates threads of 200 comments (30% replies, the same tree
in every thread) straight into the real schema with `INSERT … SELECT generate_series`. At each
size it measures GET a thread of 200 against a real `rejoinder serve` with wrk:

- warm: two workers with Redis, one thread read over and over (the page cache answers);
- cold: two workers without Redis, so the page cache is off (`app.build_services`), and every
  request asks for a random thread among all of them: each read runs the two thread queries
  against PostgreSQL, on pages of a table far larger than PostgreSQL's buffers at 10M;
- cold_c1: the same with one connection, i.e. the latency of one uncached read.

It also prints EXPLAIN (ANALYZE, BUFFERS) of the exact queries `read_thread` runs, and fails if
either scans the comments table sequentially. Writes the `scale` section of bench/results.json.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from _results import update_results
from run import REDIS_URL, Server, peak_rss_mb, wrk
from sqlalchemy import event

PG_URL = os.environ.get("REJOINDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "rejoinder_scale"
PER_THREAD = 200
CHUNK_THREADS = 2_500  # 500,000 comments per INSERT statement and transaction
SITE = "bench"


def admin_url() -> str:
    return PG_URL


def scale_url() -> str:
    return urlsplit(PG_URL)._replace(path=f"/{DB_NAME}").geturl()


def tree() -> tuple[list[int | None], list[int], list[int]]:
    """One thread's shape: parent index (30% replies), root index and reply count per comment."""
    rnd = random.Random(11)
    parents: list[int | None] = []
    roots: list[int] = []
    replies = [0] * PER_THREAD
    for i in range(PER_THREAD):
        p = rnd.randrange(i) if i and rnd.random() < 0.3 else None
        parents.append(p)
        roots.append(i if p is None else roots[p])
        if p is not None:
            replies[p] += 1
    return parents, roots, replies


def recreate_database() -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                     (DB_NAME,))
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                     (DB_NAME,))
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")


def rejoinder(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "rejoinder", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


# Ids are computed, not drawn from the sequence, so that a reply can name its parent and root in
# the same statement: comment j of thread t is  base + (t - 1) * 200 + j + 1.
INSERT_THREADS = """
INSERT INTO threads (id, site_id, key, title, url, locked, comment_count, created_at)
SELECT t, %(site)s, '/scale/' || t, 'Story ' || t, 'https://news.example.org/scale/' || t,
       false, %(per)s, timestamp with time zone '2024-01-01' + t * interval '1 minute'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS t
"""

INSERT_COMMENTS = """
INSERT INTO comments (id, site_id, thread_id, parent_id, root_id, status, body_md, body_html,
                      author_name, is_guest, ip_hash, edit_token_hash, moderation, score,
                      upvotes, downvotes, reply_count, flag_count, created_at)
SELECT c.id, %(site)s, t,
       CASE WHEN s.p IS NULL THEN NULL ELSE (t - 1) * %(per)s + s.p + 1 END,
       (t - 1) * %(per)s + s.r + 1,
       'published',
       'Comment ' || s.j || ': a reasonable point about the story, with *some* Markdown and a link https://example.org/' || c.id || '.',
       '<p>Comment ' || s.j || ': a reasonable point about the story, with <em>some</em> Markdown and a link <a href="https://example.org/' || c.id || '." rel="nofollow ugc noopener">https://example.org/' || c.id || '.</a></p>',
       'Reader ' || (s.j %% 37), true, md5(c.id::text) || md5(t::text), md5(c.id::text || 'e') || md5(s.j::text),
       '{"backend": "default", "version": "bench", "action": "publish", "reasons": [], "scores": {"hate": 0.01, "abuse": 0.02, "threat": 0.0, "sexual": 0.0, "spam": 0.03}}'::json,
       (c.id %% 7)::int - 2, (c.id %% 5)::int, (c.id %% 3)::int, s.n, 0,
       timestamp with time zone '2024-01-01' + c.id * interval '1 second'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS t
CROSS JOIN unnest(%(js)s::int[], %(ps)s::int[], %(rs)s::int[], %(ns)s::int[]) AS s(j, p, r, n)
CROSS JOIN LATERAL (SELECT (t - 1) * %(per)s + s.j + 1 AS id) AS c
"""


def generate(conn: psycopg.Connection[Any], site_id: int, first: int, last: int) -> None:
    """Threads first..last (inclusive), 200 comments each, in chunks of 500,000 comments."""
    parents, roots, replies = tree()
    shape = {"js": list(range(PER_THREAD)), "ps": parents, "rs": roots, "ns": replies}
    for lo in range(first, last + 1, CHUNK_THREADS):
        hi = min(last, lo + CHUNK_THREADS - 1)
        t0 = time.monotonic()
        with conn.transaction():
            # Generated rows are consistent by construction (ids computed above): skip the
            # per-row foreign-key triggers, as a bulk restore does, not the indexes.
            conn.execute("SET LOCAL session_replication_role = replica")
            params = {"site": site_id, "per": PER_THREAD, "first": lo, "last": hi}
            conn.execute(INSERT_THREADS, params)
            conn.execute(INSERT_COMMENTS, {**params, **shape})
        n = (hi - lo + 1) * PER_THREAD
        print(f"  threads {lo:>6}..{hi:<6} {n:>9,} comments in {time.monotonic() - t0:5.1f}s",
              flush=True)
    conn.execute("SELECT setval('threads_id_seq', %s)", (last,))
    conn.execute("SELECT setval('comments_id_seq', %s)", (last * PER_THREAD,))


def comment_count(conn: psycopg.Connection[Any]) -> int:
    return int(conn.execute("SELECT count(*) FROM comments").fetchone()[0])  # type: ignore[index]


def explain(env: dict[str, str], threads: list[int]) -> dict[str, Any]:
    """Read each thread with `read_thread` (page cache off), timed, then EXPLAIN (ANALYZE,
    BUFFERS) the statements it really sent. The read comes first, so it meets the thread cold
    in this process and, at 10M, mostly outside PostgreSQL's buffers."""
    from rejoinder.app import build_services
    from rejoinder.config import load_settings
    from rejoinder.domain.comments import SortOrder
    from rejoinder.moderation.backends.null import NullClassifier
    from rejoinder.services.comments import read_thread
    from rejoinder.storage.engine import Database

    os.environ.update({k: v for k, v in env.items() if k.startswith("REJOINDER_")})
    settings = load_settings()
    db = Database(settings.resolved_database_url, pool_size=1)
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "FROM comments" in statement:
            seen.append((statement, params))

    event.listen(db.reader, "before_cursor_execute", capture)
    services = build_services(settings, db, NullClassifier())
    services.cache.enabled = False
    read_ms: list[float] = []
    sql_ms: list[float] = []
    plans: list[str] = []
    for thread in threads:
        seen.clear()
        t0 = time.perf_counter()
        read_thread(services, SITE, f"/scale/{thread}", SortOrder.OLDEST, 200, None)
        read_ms.append((time.perf_counter() - t0) * 1000)
        statements = list(seen)
        total = 0.0
        with db.reader.connect() as conn:
            for statement, params in statements:
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = "\n".join(r[0] for r in rows)
                total += float(re.findall(r"Execution Time: ([\d.]+) ms", plan)[0])
                plans.append(plan)
        sql_ms.append(total)
    event.remove(db.reader, "before_cursor_execute", capture)
    db.dispose()
    return {"plans": plans[:2], "seq_scan": any("Seq Scan on comments" in p for p in plans),
            "samples": len(threads), "read_thread_ms": percentiles(read_ms),
            "sql_execution_ms": percentiles(sql_ms)}


def percentiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"p50": round(xs[len(xs) // 2], 3), "p99": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))], 3),
            "max": round(xs[-1], 3)}


def random_threads_lua(threads: int, tmp: Path) -> str:
    path = tmp / f"random_{threads}.lua"
    path.write_text(f"""
math.randomseed(42)
request = function()
  local t = math.random(1, {threads})
  return wrk.format("GET", "/api/v1/comments?site={SITE}&thread=%2Fscale%2F" .. t .. "&limit=200")
end
""")
    return str(path)


def measure(env: dict[str, str], threads: int, tmp: Path) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {"threads": threads, "loadavg_1m": round(os.getloadavg()[0], 2)}
    probe = threads // 2 + 1
    with Server({**env, "REJOINDER_REDIS_URL": REDIS_URL}, 2) as server:
        url = f"{server.base}/api/v1/comments?site={SITE}&thread=%2Fscale%2F{probe}&limit=200"
        page = httpx.get(url, timeout=30).json()
        n = sum(1 + _count(c["replies"]) for c in page["comments"])
        assert n == PER_THREAD, f"thread /scale/{probe} returned {n} comments"
        print("  warm (page cache on, one thread)", flush=True)
        out["warm"] = wrk(url)
        out["warm"]["rss_mb"], _ = peak_rss_mb(server.proc.pid)
    cold_env = {k: v for k, v in env.items() if k != "REJOINDER_REDIS_URL"}
    with Server(cold_env, 2) as server:
        lua = random_threads_lua(threads, tmp)
        print(f"  cold (page cache off, random thread of {threads:,})", flush=True)
        out["cold"] = wrk(server.base, script=lua)
        print("  cold, one connection", flush=True)
        out["cold_c1"] = wrk(server.base, script=lua, connections=1)
        out["cold"]["rss_mb"], _ = peak_rss_mb(server.proc.pid)
    return out


def _count(cs: list[dict[str, Any]]) -> int:
    return sum(1 + _count(c["replies"]) for c in cs)


def database_size(conn: psycopg.Connection[Any]) -> dict[str, float]:
    row = conn.execute("SELECT pg_total_relation_size('comments'), pg_relation_size('comments'),"
                       " pg_indexes_size('comments')").fetchone()
    assert row is not None
    return {"total_mb": round(row[0] / 2**20), "table_mb": round(row[1] / 2**20),
            "indexes_mb": round(row[2] / 2**20)}


def stage(conn: psycopg.Connection[Any], env: dict[str, str], site_id: int, have: int,
          want_comments: int, tmp: Path) -> tuple[int, dict[str, Any]]:
    threads = want_comments // PER_THREAD
    print(f"generating up to {threads * PER_THREAD:,} comments ({threads:,} threads)", flush=True)
    t0 = time.monotonic()
    generate(conn, site_id, have + 1, threads)
    load_s = time.monotonic() - t0
    t0 = time.monotonic()
    conn.execute("VACUUM ANALYZE threads")
    conn.execute("VACUUM ANALYZE comments")
    # Write out what the load and VACUUM dirtied now, so that a checkpoint's burst of writes
    # does not land in the middle of the measurements (a database in service is past that).
    conn.execute("CHECKPOINT")
    vacuum_s = time.monotonic() - t0
    stored = comment_count(conn)
    print(f"  {stored:,} comments stored; loaded in {load_s:.0f}s, vacuum analyze + checkpoint {vacuum_s:.0f}s",
          flush=True)
    result: dict[str, Any] = {"comments": stored, "load_s": round(load_s, 1),
                              "vacuum_analyze_s": round(vacuum_s, 1), **database_size(conn)}
    sample = random.Random(3).sample(range(1, threads + 1), min(threads, 300))
    ex = explain(env, sample)
    print(ex["plans"][0], "\n", ex["plans"][1], flush=True)
    result["explain"] = {"seq_scan": ex["seq_scan"], "samples": ex["samples"],
                         "sql_execution_ms": ex["sql_execution_ms"],
                         "read_thread_ms": ex["read_thread_ms"],
                         "top_level_plan": ex["plans"][0], "replies_plan": ex["plans"][1]}
    result.update(measure(env, threads, tmp))
    return threads, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=10_000_000)
    ap.add_argument("--keep", action="store_true", help="leave the database for inspection")
    args = ap.parse_args()
    recreate_database()
    env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_RATE_LIMITS": "off",
           "REJOINDER_CREATE_DEMO": "false", "REJOINDER_LOG_LEVEL": "warning",
           "REJOINDER_DATABASE_URL": scale_url()}
    env.pop("REJOINDER_REDIS_URL", None)
    results: dict[str, Any] = {}
    try:
        rejoinder(env, "migrate")
        rejoinder(env, "site", "create", SITE, "--origin", "http://127.0.0.1")
        with psycopg.connect(scale_url(), autocommit=True) as conn, \
                tempfile.TemporaryDirectory() as tmpdir:
            row = conn.execute("SELECT id FROM sites WHERE slug = %s", (SITE,)).fetchone()
            assert row is not None
            have = 0
            for name, size in (("small", args.small), ("large", args.large)):
                have, results[name] = stage(conn, env, int(row[0]), have, size, Path(tmpdir))
    finally:
        if not args.keep:
            drop_database()
    small, large = results["small"], results["large"]
    results["ratio_large_over_small"] = {
        **{k: round(large[k]["p50_ms"] / small[k]["p50_ms"], 2) for k in ("warm", "cold", "cold_c1")},
        **{f"{k}_p50": round(large["explain"][k]["p50"] / small["explain"][k]["p50"], 2)
           for k in ("sql_execution_ms", "read_thread_ms")}}
    results["date"] = time.strftime("%Y-%m-%d")
    results["note"] = ("GET thread of 200 (limit=200), wrk 32 connections (cold_c1: 1), "
                       "2 workers; cold = page cache off and a random thread per request")
    update_results({"scale": results})
    print_table(results)
    if small["explain"]["seq_scan"] or large["explain"]["seq_scan"]:
        sys.exit("a thread query scans the comments table sequentially")


def print_table(r: dict[str, Any]) -> None:
    print(f"\n{'':18}{'comments':>12}{'threads':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name in ("small", "large"):
        s = r[name]
        for mode in ("warm", "cold", "cold_c1"):
            m = s[mode]
            print(f"{name + ' ' + mode:18}{s['comments']:>12,}{s['threads']:>9,}{m['rps']:>10.0f}"
                  f"{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}")
        e = s["explain"]
        print(f"{'':18}{e['samples']} random threads: SQL execution (both queries) ms "
              f"{e['sql_execution_ms']}; read_thread in-process ms {e['read_thread_ms']}")
        print(f"{'':18}comments table {s['table_mb']} MB + indexes {s['indexes_mb']} MB")
    print(f"p50 at large / p50 at small: {r['ratio_large_over_small']}")


if __name__ == "__main__":
    main()
