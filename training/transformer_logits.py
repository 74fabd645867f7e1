"""Logits of the *shipped* int8 transformer (CPU, onnxruntime) for the derived splits, in the npz
layout train_linear.py reads (`int8_val`, and `int8_test` / `int8_ethos` with --splits).

Use this when only the linear model, the blend or the cascade band are retrained (no GPU, or the
transformer is unchanged): the blend must be fitted on the logits of the model that ships.
Logits are cached by normalised text in `.train/trf_cache.npz`, so a rebuilt split with a few
new own examples costs only those rows; a cache written by another model version (e.g. the
batch-dependent `minilm-l6-int8-1`, ADR 0019) is ignored.

Run: nice -n 5 python training/transformer_logits.py [--data .train/data] [--out .train/trf/logits.npz]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rejoinder.moderation.backends.transformer import TransformerModel

FILES = {"val": "val.jsonl", "test": "test.jsonl", "ethos": "ethos_eval.jsonl"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".train/data")
    ap.add_argument("--out", default=".train/trf/logits.npz")
    ap.add_argument("--cache", default=".train/trf_cache.npz")
    ap.add_argument("--splits", default="val", help="comma list of val,test,ethos")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    cache_path = Path(args.cache)
    cache: dict[str, np.ndarray] = {}
    model = TransformerModel(threads=args.threads or None)
    if cache_path.exists():
        z = np.load(cache_path, allow_pickle=False)
        if "version" in z.files and str(z["version"]) == model.version:
            cache = dict(zip(z["texts"].tolist(), z["logits"], strict=True))
        else:
            print(f"{cache_path}: written by another model version, not used")
    out: dict[str, np.ndarray] = {}
    for split in args.splits.split(","):
        path = Path(args.data) / FILES[split]
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
        todo = sorted({t for t in texts if t not in cache})
        t0 = time.perf_counter()
        for i in range(0, len(todo), 512):
            chunk = todo[i : i + 512]
            cache.update(zip(chunk, model.logits(chunk), strict=True))
            print(f"{split}: {min(i + 512, len(todo))}/{len(todo)} new, "
                  f"{time.perf_counter() - t0:.0f}s", flush=True)
        out[f"int8_{split}"] = np.stack([cache[t] for t in texts]).astype(np.float32)
        keys = sorted(cache)
        np.savez_compressed(cache_path, texts=np.array(keys),
                            logits=np.stack([cache[k] for k in keys]),
                            version=np.array(model.version))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    print({k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
