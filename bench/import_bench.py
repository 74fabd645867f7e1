"""Import throughput and peak memory (issue 5): a generated Disqus export into SQLite and PostgreSQL.

    python bench/import_bench.py                    # 1,000,000 comments
    python bench/import_bench.py --comments 100000  # quicker

The export is streamed to a temporary file (threads of ~50 comments, 35% replies, some listed
before their parents, 2% deleted, 1% spam). Each import runs in its own process, so its peak
resident memory (VmHWM) is its own. Target: ≥ 10,000 comments/s and < 300 MB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 10_000  # comments per second (issue 5)
TARGET_MB = 300  # peak resident memory of the import, worker included
PG_URL = os.environ.get("REJOINDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "readers", "argue", "about", "fish", "&", "chips", "and", "whether", "<em>this</em>", "article", "got", "its", "facts", "right"]


def generate(path: Path, comments: int, seed: int = 5) -> None:
    """Write a Disqus-format export with `comments` posts (streamed; constant memory)."""
    rng = random.Random(seed)
    per_thread = 50
    threads = max(1, comments // per_thread)
    with path.open("w", encoding="utf-8", buffering=1 << 20) as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                'xmlns:dsq="http://disqus.com/disqus-internals">\n')
        for t in range(1, threads + 1):
            f.write(f'<thread dsq:id="{t}"><id>post-{t}</id><forum>bench</forum>'
                    f"<link>https://news.example.org/{2000 + t % 20}/{t % 12 + 1:02d}/story-{t}/"
                    f"</link><title>Story {t} &amp; more</title>"
                    f"<createdAt>2015-01-01T00:00:00Z</createdAt>"
                    f"<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>\n")
        post_id = 0
        for t in range(1, threads + 1):
            n = per_thread if t < threads else comments - per_thread * (threads - 1)
            first = post_id + 1
            block = []
            for i in range(n):
                post_id += 1
                parent = ""
                if i and rng.random() < 0.35:
                    parent = f'<parent dsq:id="{rng.randint(first, post_id - 1)}" />'
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
                deleted = "true" if rng.random() < 0.02 else "false"
                spam = "true" if rng.random() < 0.01 else "false"
                minute = i % 60
                block.append(
                    f'<post dsq:id="{post_id}"><id /><message><![CDATA[<p>{words}</p>'
                    f'<p><a href="https://example.org/{post_id}">source</a></p>]]></message>'
                    f"<createdAt>2016-{t % 12 + 1:02d}-01T{i // 60 % 24:02d}:{minute:02d}:00Z"
                    f"</createdAt><isDeleted>{deleted}</isDeleted><isSpam>{spam}</isSpam>"
                    f"<author><email>reader{post_id % 5000}@example.net</email>"
                    f"<name>Reader {post_id % 5000}</name><isAnonymous>false</isAnonymous>"
                    f"</author><ipAddress>198.51.{post_id % 250}.{post_id % 200}</ipAddress>"
                    f'<thread dsq:id="{t}" />{parent}</post>\n'
                )
            if len(block) > 2:  # a reply listed before its parent, as real exports have
                block[-1], block[-2] = block[-2], block[-1]
            f.writelines(block)
        f.write("</disqus>\n")


def child(url: str, file: str, workers: int | None) -> None:
    """Run one import in this process and print its figures as JSON."""
    import resource
    from datetime import UTC, datetime

    from rejoinder.config import Settings
    from rejoinder.importers.cli import _ip_hasher
    from rejoinder.importers.disqus import DisqusSource
    from rejoinder.importers.pipeline import ImportOptions, SiteSpec, run_import
    from rejoinder.storage.engine import Database, migrate

    migrate(url)
    db = Database(url, pool_size=1)
    # The server's keyed IP hash, as `rejoinder import` uses it (HMAC-SHA256 with the key).
    hash_ip = _ip_hasher(Settings(database_url=url, secret_key="b" * 48))
    started = time.perf_counter()
    cpu = time.process_time()
    summary = run_import(
        db, "bench", DisqusSource(Path(file)), ImportOptions(workers=workers),
        hash_ip=hash_ip, now=datetime.now(UTC),
        create_site=SiteSpec(origins=["https://news.example.org"]),
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    db.dispose()
    # Peak memory of the import: this process plus its row-building worker (summed, so
    # pages the forked worker shares with us count twice: an upper bound).
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_mb = children.ru_maxrss / 1024
    print(json.dumps({
        "comments": summary.inserted, "read": summary.read, "seconds": seconds,
        "cpu_seconds": cpu, "worker_cpu_seconds": children.ru_utime + children.ru_stime,
        "rss_mb": _peak_rss_mb(), "worker_rss_mb": worker_mb,
        "workers": ImportOptions(workers=workers).worker_count(),
    }))


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(url: str, file: Path, workers: int | None) -> dict[str, Any]:
    extra = [] if workers is None else ["--workers", str(workers)]
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(file), *extra],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def pg_schema() -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--workers", type=int, default=None,
                        help="row-building worker processes (default: as `rejoinder import`)")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.workers)
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    with tempfile.TemporaryDirectory(prefix="rejoinder-bench-") as tmp:
        export = Path(tmp) / "disqus.xml"
        t0 = time.perf_counter()
        generate(export, args.comments)
        console.print(f"generated {args.comments:,} comments, "
                      f"{export.stat().st_size / 1e6:,.0f} MB, in {time.perf_counter() - t0:.0f} s")
        table = Table(title=f"rejoinder import disqus: {args.comments:,} comments "
                            f"({os.cpu_count()} CPUs)")
        for col in ("database", "comments", "seconds", "comments/s", "peak RSS (MB)",
                    "+ worker (MB)", "target"):
            table.add_column(col, justify="right" if col != "database" else "left")
        targets = [args.only] if args.only else ["sqlite", "postgresql"]
        results: dict[str, Any] = {}
        for name in targets:
            if name == "sqlite":
                url, drop = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None
            else:
                url, drop = pg_schema()
            load_before = os.getloadavg()[0]  # other work on the machine (shared: it varies)
            try:
                r = run_child(url, export, args.workers)
            finally:
                if drop:
                    drop()
            rate = r["read"] / r["seconds"]
            peak = r["rss_mb"] + r["worker_rss_mb"]
            met = rate >= TARGET_RATE and peak < TARGET_MB
            table.add_row(name, f"{r['comments']:,}", f"{r['seconds']:.1f}", f"{rate:,.0f}",
                          f"{r['rss_mb']:.0f}", f"{r['worker_rss_mb']:.0f}",
                          "met" if met else "NOT met")
            # CPU of the importing process and its worker per comment: comparable between
            # machines and loads where seconds are not (PostgreSQL's server is not included).
            cpu_us = (r["cpu_seconds"] + r["worker_cpu_seconds"]) / r["read"] * 1e6
            load = (round(load_before, 2), round(os.getloadavg()[0], 2))
            console.print(f"{name}: {r}; client CPU {cpu_us:.1f} µs/comment; "
                          f"load average (1 min) before/after {load[0]}/{load[1]}")
            results[name] = {**r, "comments_per_s": round(rate, 1), "peak_total_mb": round(peak, 1),
                             "client_cpu_us_per_comment": round(cpu_us, 1),
                             "target_met": met, "date": time.strftime("%Y-%m-%d %H:%M"),
                             "load_average_1m_before": load[0], "load_average_1m": load[1]}
        console.print(table)
    save(args.comments, results)


def save(comments: int, results: dict[str, Any]) -> None:
    """Our section of bench/results.json (read, modify, write: other sections stay)."""
    path = ROOT / "bench" / "results.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    earlier = data.get("import", {})
    if earlier.get("comments") == comments:  # `--only`: keep the other database's figures
        results = {**earlier.get("results", {}), **results}
    data["import"] = {
        "comments": comments, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
        "target": {"comments_per_s": TARGET_RATE, "peak_mb": TARGET_MB},
        "results": results,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
