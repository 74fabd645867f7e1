"""Moderation speed and memory on this CPU (issue 2): batched comments/s, single-comment latency,
model load time and resident memory, for the `default` pipeline and its parts.

    python bench/moderation_bench.py                       # our own example sentences
    python bench/moderation_bench.py --corpus FILE.jsonl   # any JSONL with a "text" field
    python bench/moderation_bench.py --corpus ../shared/fixtures/seed-threads.json
    python bench/moderation_bench.py --backends default,linear --n 5000 --json out.json

Each backend runs in its own process, so load time and peak RSS (VmHWM) are its own.
The corpora repeat (the seed threads are 102 comments, run 40 times), so the normalisation cache
would serve most comments for free; it is bypassed unless --cached is given, as real comments
are mostly unique. The transformer has no cache.
Targets: >= 500 comments/s batched on 2 cores, <= 20 ms p99 single, load < 2 s, RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = [REPO / "training/examples/train.jsonl", REPO / "training/examples/test.jsonl",
                  REPO / "training/examples/identity_neutral.jsonl"]


def _rss_mb(field: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _uncached_normalise() -> None:
    """Every comment pays for its own normalisation, as unique real comments do."""
    import rejoinder.moderation.normalise as norm_module
    import rejoinder.moderation.pipeline as pipeline_module

    raw = norm_module.normalise.__wrapped__
    vars(norm_module)["normalise"] = raw  # normalise_text() looks it up here at each call
    vars(pipeline_module)["normalise"] = raw


def _child(backend: str, corpus: list[str], n: int, singles: int, batch: int,
           cached: bool) -> dict[str, object]:
    t0 = time.perf_counter()
    from rejoinder.moderation.registry import load_classifier

    clf = load_classifier(backend)
    if not cached:
        _uncached_normalise()
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_mb("VmRSS")
    texts = (corpus * (n // len(corpus) + 1))[:n]
    clf.score(texts[:64])  # warm-up
    stats = getattr(clf, "stats", None)
    before = (stats.scored, stats.routed) if stats else (0, 0)
    t1 = time.perf_counter()
    for i in range(0, n, batch):
        clf.score(texts[i : i + batch])
    batched = n / (time.perf_counter() - t1)
    routed = ((stats.routed - before[1]) / max(1, stats.scored - before[0])) if stats else 0.0
    lat = []
    for text in texts[:singles]:
        t = time.perf_counter()
        clf.score([text])
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return {"backend": backend, "load_s": load_s, "comments_per_s": batched,
            "p50_ms": lat[len(lat) // 2], "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "rss_loaded_mb": rss_loaded, "peak_rss_mb": _rss_mb(), "transformer_share": routed,
            "n": n, "cpus": os.cpu_count(), "normalise_cache": cached}


def _corpus(path: str | None) -> list[str]:
    files = [Path(path)] if path else DEFAULT_CORPUS
    out = []
    for f in files:
        if f.suffix == ".json":  # the seed-threads fixture format
            data = json.loads(f.read_text(encoding="utf-8"))
            out += [c["body"] for t in data["threads"] for c in t["comments"]]
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="default,linear,keywords")
    ap.add_argument("--corpus")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--singles", type=int, default=500)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--json")
    ap.add_argument("--cached", action="store_true",
                    help="let the normalisation cache serve repeated comments (the old method)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        res = _child(args.child, _corpus(args.corpus), args.n, args.singles, args.batch,
                     args.cached)
        print(json.dumps(res))
        return
    results = []
    for backend in args.backends.split(","):
        cmd = [sys.executable, __file__, "--child", backend, "--n", str(args.n),
               "--singles", str(args.singles), "--batch", str(args.batch)]
        if args.corpus:
            cmd += ["--corpus", args.corpus]
        if args.cached:
            cmd.append("--cached")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    head = (f"{'backend':<10} {'load s':>7} {'comments/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'RSS MB':>7} {'to transformer':>15}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['backend']:<10} {r['load_s']:7.2f} {r['comments_per_s']:11.0f} "
              f"{r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['peak_rss_mb']:7.0f} "
              f"{r['transformer_share']:15.1%}")
    print(f"({results[0]['n']} comments batched by {args.batch}, {args.singles} single, "
          f"{results[0]['cpus']} CPUs, normalisation cache {'on' if args.cached else 'off'}, "
          f"load average {os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
