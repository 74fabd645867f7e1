"""bench/results.json is written by several scripts, each owning its own sections.

Read, replace only the caller's sections, write back (atomically), so `bench/run.py` does not wipe
`scale` and `bench/scale_bench.py` does not wipe `workloads`. Benchmarks run one at a time under
`flock /tmp/rejoinder-bench.lock`, which also serialises these writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def update_results(sections: dict[str, Any], *, merge: tuple[str, ...] = ()) -> None:
    """Set `sections` in results.json; for keys in `merge`, update that dict key by key."""
    try:
        data: dict[str, Any] = json.loads(RESULTS.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    for key, value in sections.items():
        if key in merge and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, RESULTS)
