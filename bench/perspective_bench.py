"""Benchmark of the Perspective-compatible API (issue 9): speed and IDENTITY_ATTACK quality.

Speed: a real `rejoinder serve --moderation-only` process on SQLite, one API key, comment texts
from our own held-out examples (training/examples/test.jsonl). For each classifier (`default`,
the full cascade; `fast`, rules + linear model) it measures
  - closed loop: 16 concurrent clients for BENCH_SECONDS -> requests/s, p50, p99;
  - open loop: requests fired at a fixed 300/s (the issue's target) -> achieved rate, p50, p99.
The load generator (bare asyncio HTTP/1.1, keep-alive) shares the 2 cores with the server.

Quality: IDENTITY_ATTACK on our held-out data, grouped into HateCheck-style functionalities, at
0.5 (the cut-off Röttger et al. used) and 0.8 (Coral's), next to Perspective's per-functionality
accuracy published by HateCheck's authors (see PERSPECTIVE_HATECHECK below).

Run under the bench lock:  flock /tmp/rejoinder-bench.lock python bench/perspective_bench.py
Writes the `perspective` section of bench/results.json and leaves the other sections alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
EXAMPLES = ROOT / "training" / "examples"
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
TARGET_RPS = 300
NEWSROOM_RPS = 30  # a busy newsroom's peak comment rate is tens per second, not hundreds

# Perspective's accuracy per HateCheck functionality, from the HateCheck authors' own evaluation
# notebook (github.com/paul-rottger/hatecheck-experiments, 4_eval_models_on_hatecheck.ipynb,
# commit 4861f5e, column `perspective`); overall accuracy there 76.6%.
PERSPECTIVE_HATECHECK = {
    "derog_neg_emote_h": 98.6, "derog_neg_attrib_h": 95.7, "derog_dehum_h": 98.6,
    "derog_impl_h": 85.0, "threat_dir_h": 100.0, "slur_h": 66.0,
    "ident_neutral_nh": 84.1, "ident_pos_nh": 54.0, "counter_quote_nh": 15.6,
    "counter_ref_nh": 18.4, "target_indiv_nh": 84.6, "target_obj_nh": 95.4,
    "spell_char_swap_h": 88.7, "spell_space_add_h": 74.0, "spell_leet_h": 68.2,
}
# Our held-out groups -> the HateCheck functionalities they correspond to (closest match).
GROUPS: list[tuple[str, bool, tuple[str, ...]]] = [
    # (our group, hateful?, HateCheck functionalities)
    ("explicit identity hate", True,
     ("derog_neg_emote_h", "derog_neg_attrib_h", "derog_dehum_h")),
    ("coded / implicit antisemitism", True, ("derog_impl_h",)),
    ("identity hate, leetspeak", True, ("spell_leet_h",)),
    ("identity hate, spaced letters", True, ("spell_space_add_h",)),
    ("identity hate, swapped letters", True, ("spell_char_swap_h",)),
    ("neutral/positive identity mentions", False, ("ident_neutral_nh", "ident_pos_nh")),
    ("counter-speech, quoted or referenced hate", False, ("counter_quote_nh", "counter_ref_nh")),
    ("abuse not about identity", False, ("target_indiv_nh",)),
    ("ordinary comments", False, ("target_obj_nh",)),
]
KIND_GROUP = {"identity_hate": "explicit identity hate", "identity_hate_tpl": "explicit identity hate",
              "coded_antisemitism": "coded / implicit antisemitism",
              "coded_antisemitism_2": "coded / implicit antisemitism",
              "identity_neutral_tpl": "neutral/positive identity mentions",
              "neutral_or_counter": "counter-speech, quoted or referenced hate",
              "abuse": "abuse not about identity", "ordinary": "ordinary comments"}
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"})


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# -- quality -----------------------------------------------------------------------------------
def _perturb(text: str, how: str, rng: random.Random) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    if how == "leet":
        words[i] = w.translate(LEET)
    elif how == "space":
        words[i] = " ".join(w)
    else:  # swap two inner letters
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def quality(use_transformer: bool) -> dict[str, Any]:
    from rejoinder.moderation.normalise import normalise_text
    from rejoinder.moderation.pipeline import ModerationPipeline
    from rejoinder.perspective.attributes import Attribute, attribute_scores

    rng = random.Random(9)
    cases: dict[str, list[str]] = {g: [] for g, _, _ in GROUPS}
    seen: set[str] = set()
    test = load(EXAMPLES / "test.jsonl")
    for row in test + load(EXAMPLES / "identity_neutral.jsonl"):
        group = KIND_GROUP.get(row.get("kind", "identity_neutral_tpl"))
        if group and row["text"] not in seen:
            seen.add(row["text"])
            cases[group].append(row["text"])
    explicit = cases["explicit identity hate"]
    for how, group in (("leet", "identity hate, leetspeak"), ("space", "identity hate, spaced letters"),
                       ("swap", "identity hate, swapped letters")):
        cases[group] = [_perturb(t, how, rng) for t in explicit]
    pipe = ModerationPipeline(use_transformer=use_transformer)
    out: dict[str, Any] = {}
    for group, hateful, funcs in GROUPS:
        texts = cases[group]
        scores = pipe.score(texts)
        ia = np.array([attribute_scores(s, normalise_text(t)).get(Attribute.IDENTITY_ATTACK)
                       for s, t in zip(scores, texts, strict=True)])
        acc = {str(t): float(np.mean((ia > t) if hateful else (ia <= t)) * 100) for t in (0.5, 0.8)}
        out[group] = {"n": len(texts), "hateful": hateful, "accuracy_at_0.5": round(acc["0.5"], 1),
                      "accuracy_at_0.8": round(acc["0.8"], 1),
                      "perspective_hatecheck": {f: PERSPECTIVE_HATECHECK[f] for f in funcs}}
    return out


def decisions(use_transformer: bool) -> dict[str, Any]:
    """What each client's threshold does on our held-out comments (spam examples left out):
    Coral holds when TOXICITY > 0.8, Comentario when any of the six attributes > 0.5."""
    from rejoinder.domain.moderation import Action, Label, ModerationPolicy
    from rejoinder.moderation.normalise import normalise_text
    from rejoinder.moderation.pipeline import ModerationPipeline
    from rejoinder.perspective.attributes import Attribute, attribute_scores

    rows = [r for r in load(EXAMPLES / "test.jsonl") if not r["labels"].get("spam")]
    texts = {r["text"]: any(r["labels"].values()) for r in rows}
    for r in load(EXAMPLES / "identity_neutral.jsonl"):
        texts.setdefault(r["text"], False)
    pipe = ModerationPipeline(use_transformer=use_transformer)
    policy = ModerationPolicy()
    harmful = np.array(list(texts.values()))
    held: dict[str, list[bool]] = {"rejoinder policy": [], "coral TOXICITY > 0.8": [],
                                   "comentario any > 0.5": []}
    six = [Attribute(a) for a in ("TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT",
                                  "PROFANITY", "THREAT")]
    for text, sc in zip(texts, pipe.score(list(texts)), strict=True):
        a = attribute_scores(sc, normalise_text(text))
        # Our policy without spam, as the Perspective attributes carry no spam either.
        no_spam = type(sc)({lab: sc.get(lab) for lab in Label if lab is not Label.SPAM})
        held["rejoinder policy"].append(policy.decide(no_spam).action is not Action.PUBLISH)
        held["coral TOXICITY > 0.8"].append(a.get(Attribute.TOXICITY) > 0.8)
        held["comentario any > 0.5"].append(any(a.get(x) > 0.5 for x in six))
    out: dict[str, Any] = {"harmful": int(harmful.sum()), "clean": int((~harmful).sum())}
    for name, h in held.items():
        arr = np.array(h)
        out[name] = {"recall": round(float(arr[harmful].mean()) * 100, 1),
                     "false_hold": round(float(arr[~harmful].mean()) * 100, 1)}
    return out


# -- speed -------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp: Path, backend: str) -> tuple[subprocess.Popen[bytes], int, str]:
    from rejoinder.storage.engine import Database, migrate
    from rejoinder.storage.perspective import PerspectiveStore

    url = f"sqlite:///{tmp / f'{backend}.sqlite3'}"
    migrate(url)
    db = Database(url, pool_size=1)
    key, _ = PerspectiveStore(db).create_key("bench", qps=100_000, daily_quota=0,
                                             now=datetime.now(UTC))
    db.dispose()
    port = _free_port()
    env = {**os.environ, "REJOINDER_ENV": "development", "REJOINDER_DATABASE_URL": url,
           "REJOINDER_DATA_DIR": str(tmp), "REJOINDER_MODERATION_BACKEND": backend,
           "REJOINDER_PERSPECTIVE_BACKEND": "", "REJOINDER_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "rejoinder", "serve", "--moderation-only",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, port, key
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _bodies() -> list[bytes]:
    attrs = {a: {} for a in ("TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT",
                             "PROFANITY", "THREAT")}
    rows = load(EXAMPLES / "test.jsonl")
    return [json.dumps({"comment": {"text": r["text"]}, "languages": ["en"], "doNotStore": True,
                        "requestedAttributes": attrs}).encode() for r in rows]


class _Conn:
    """A bare HTTP/1.1 keep-alive connection: far cheaper than httpx, so the load generator
    leaves the two cores to the server (httpx alone capped the rate at ~140/s here)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def _requests(port: int, key: str, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST /v1alpha1/comments:analyze?key={key} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
             f"Content-Type: application/json\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b
            for b in bodies]


async def _closed(port: int, requests: list[bytes], seconds: float, concurrency: int = 16
                  ) -> dict[str, float]:
    lat: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds
    conns = [await _Conn.open(port) for _ in range(concurrency)]

    async def worker(i: int) -> None:
        nonlocal errors
        n = i
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            errors += await conns[i].post(requests[n % len(requests)]) != 200
            lat.append(time.perf_counter() - t0)
            n += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    took = time.perf_counter() - started
    for c in conns:
        c.close()
    return _summary(lat, took, errors)


async def _open(port: int, requests: list[bytes], seconds: float, rate: float
                ) -> dict[str, float]:
    """Requests due at a fixed rate; latency counts from when each was due (no coordinated
    omission: a slow server makes later requests late, and that lateness is measured)."""
    lat: list[float] = []
    errors = 0
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await _Conn.open(port))

    async def one(n: int, due: float) -> None:
        nonlocal errors
        conn = await idle.get()
        errors += await conn.post(requests[n % len(requests)]) != 200
        lat.append(time.perf_counter() - due)
        idle.put_nowait(conn)

    tasks = []
    started = time.perf_counter()
    for n in range(int(seconds * rate)):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    took = time.perf_counter() - started
    while not idle.empty():
        idle.get_nowait().close()
    return _summary(lat, took, errors)


def _summary(lat: list[float], took: float, errors: int) -> dict[str, float]:
    a = np.array(lat) * 1000
    return {"requests": len(lat), "rps": round(len(lat) / took, 1),
            "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "errors": errors}


def speed(backends: list[str]) -> dict[str, Any]:
    bodies = _bodies()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        for backend in backends:
            proc, port, key = _start(Path(d), backend)
            requests = _requests(port, key, bodies)
            try:
                asyncio.run(_closed(port, requests, 2))  # warm up: caches, first routes
                out[backend] = {"closed_16": asyncio.run(_closed(port, requests, SECONDS))}
                for rate in (TARGET_RPS, NEWSROOM_RPS):
                    out[backend][f"open_{rate}"] = asyncio.run(
                        _open(port, requests, SECONDS, rate))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
    return out


def write_results(section: dict[str, Any]) -> None:
    """Replace only our section of results.json (read-modify-write under the bench lock)."""
    try:
        data: dict[str, Any] = json.loads(RESULTS.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    previous = data.get("perspective")
    data["perspective"] = {**previous, **section} if isinstance(previous, dict) else section
    tmp = RESULTS.with_suffix(".json.perspective.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, RESULTS)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="default,fast")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    section: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "seconds": SECONDS,
                                           "date": datetime.now(UTC).date().isoformat()}}
    if not args.skip_speed:
        section["speed"] = speed(args.backends.split(","))
    print(f"\nPerspective-compatible API, 2 shared cores, {SECONDS:.0f} s per run "
          f"(target >= {TARGET_RPS}/s at p99 < 50 ms)")
    print(f"{'backend':<9}{'load':<22}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for backend, runs in section.get("speed", {}).items():
        for name, r in runs.items():
            load_ = ("16 clients, closed" if name == "closed_16"
                     else f"{name.split('_')[1]}/s offered, open")
            print(f"{backend:<9}{load_:<22}{r['rps']:>8.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                  f"{r['errors']:>8}")
    if not args.skip_quality:
        section["identity_attack_quality"] = {}
        section["decisions"] = {}
        for backend in ("default", "fast"):
            d = section["decisions"][backend] = decisions(use_transformer=backend == "default")
            print(f"\nDecisions ({backend}) on {d['harmful']} harmful and {d['clean']} clean "
                  "held-out comments: % held")
            for name in ("rejoinder policy", "coral TOXICITY > 0.8", "comentario any > 0.5"):
                print(f"  {name:<24} recall {d[name]['recall']:5.1f}   "
                      f"false holds {d[name]['false_hold']:5.1f}")
            q = quality(use_transformer=backend == "default")
            section["identity_attack_quality"][backend] = q
            print(f"\nIDENTITY_ATTACK ({backend}) on our held-out data, accuracy %, "
                  "vs Perspective on HateCheck")
            print(f"{'group':<44}{'n':>5}{'@0.5':>7}{'@0.8':>7}  Perspective (functionality)")
            for group, r in q.items():
                ref = ", ".join(f"{f} {v:.1f}" for f, v in r["perspective_hatecheck"].items())
                print(f"{group:<44}{r['n']:>5}{r['accuracy_at_0.5']:>7.1f}"
                      f"{r['accuracy_at_0.8']:>7.1f}  {ref}")
    write_results(section)


if __name__ == "__main__":
    main()
