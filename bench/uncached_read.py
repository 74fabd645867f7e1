"""Time one uncached thread read in-process: the cost a reader pays right after a new comment.

Builds the services on a fresh SQLite file, posts a thread of N comments (30% replies, the null
classifier), then times `read_thread` with the page cache dropped before every call.

    python bench/uncached_read.py [--comments 200] [--rounds 50] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--comments", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rejoinder-read-")
    url = f"sqlite:///{tmp}/read.sqlite3"
    os.environ.update(REJOINDER_ENV="development", REJOINDER_DATABASE_URL=url,
                      REJOINDER_DATA_DIR=tmp)
    from rejoinder.app import build_services
    from rejoinder.config import load_settings
    from rejoinder.domain.comments import SortOrder
    from rejoinder.moderation.backends.null import NullClassifier
    from rejoinder.services.comments import Client, PostCommand, post_comment, read_thread
    from rejoinder.services.sites import create_site
    from rejoinder.storage.engine import Database, migrate

    settings = load_settings()
    migrate(url)
    svc = build_services(settings, Database(url), NullClassifier())
    create_site(svc, "bench", ["http://127.0.0.1"], settings={
        "flood_max": 10**9, "duplicate_threshold": 1.01, "max_links_new_author": 100})
    rnd = random.Random(7)
    ids: list[int] = []
    for i in range(args.comments):
        parent = ids[rnd.randrange(i)] if i and rnd.random() < 0.3 else None
        body = f"Comment {i}: a reasonable point, with *some* Markdown and https://example.org/{i}"
        r = post_comment(svc, PostCommand(site="bench", thread="/t", body=body,
                                          author_name=f"Reader {i % 37}", parent_id=parent),
                         Client(ip=f"10.0.{i % 250}.1"))
        ids.append(r.comment.id)

    def once() -> bytes:
        svc.cache.invalidate("bench", "/t")
        return read_thread(svc, "bench", "/t", SortOrder.OLDEST, args.comments, None)

    size = len(once())
    started = time.perf_counter()
    for _ in range(args.rounds):
        once()
    ms = (time.perf_counter() - started) / args.rounds * 1000
    print(f"uncached read of {args.comments} comments: {ms:.2f} ms ({size:,} bytes of JSON)")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(lambda: [once() for _ in range(args.rounds)])
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
