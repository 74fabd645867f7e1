"""Prepare training/validation/test data from ../shared/data into the ignored /.train/data folder.

- Reads each dataset in its own format and maps it onto Rejoinder's labels (hate, abuse, threat,
  sexual, spam); a label a dataset does not annotate is -1 (unknown) and is masked out of the loss.
- Normalises every text with `rejoinder.moderation.normalise` (what the models see at run time),
  deduplicates by normalised text *per source*, and splits by a fixed seeded hash of the normalised
  text (train 75% / val 10% / test 15%), so no text is in two splits of the same source.
- ETHOS (GPL-3.0) goes to `ethos_eval.jsonl` only: it is never trained on.
- Our own examples keep their own split (training/examples/{train,test}.jsonl); 10% of the train
  part is used for validation.
- Writes nothing into the repository: derived data stays under /.train/ (git-ignored).

Run: python training/prepare_data.py [--data ../shared/data] [--out .train/data]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import sys
from collections import Counter
from pathlib import Path

from rejoinder.moderation.normalise import normalise_text

LABELS = ("hate", "abuse", "threat", "sexual", "spam")
SEED = "rejoinder-split-v1"
U = -1  # unknown label

csv.field_size_limit(sys.maxsize)


def split_of(key: str) -> str:
    h = int(hashlib.sha256(f"{SEED}|{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if h < 0.15 else "val" if h < 0.25 else "train"


def dedup_key(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def row(source: str, raw: str, labels: dict[str, int], **extra: object) -> dict[str, object]:
    return {"source": source, "text": normalise_text(raw),
            "y": [labels.get(lab, U) for lab in LABELS], **extra}


def davidson(root: Path) -> list[dict[str, object]]:
    out = []
    with open(root / "davidson/labeled_data.csv", encoding="utf-8", errors="replace") as fh:
        for r in csv.DictReader(fh):
            cls = int(r["class"])
            # 0 hate speech, 1 offensive, 2 neither. Hate tweets are also offensive, but our
            # "abuse" is abuse *not* about identity, so it stays unknown for class 0.
            labels = {"hate": int(cls == 0), "abuse": U if cls == 0 else int(cls == 1)}
            out.append(row("davidson", html.unescape(r["tweet"]), labels, cls=cls))
    return out


def implicit_hate(root: Path) -> list[dict[str, object]]:
    d = root / "implicit-hate"
    stage2: dict[str, set[str]] = {}
    with open(d / "implicit_hate_v1_stg2_posts.tsv", encoding="utf-8", errors="replace") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            stage2.setdefault(r["post"], set()).update(
                {r["implicit_class"], r.get("extra_implicit_class") or ""})
    out = []
    with open(d / "implicit_hate_v1_stg1_posts.tsv", encoding="utf-8", errors="replace") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            cls = r["class"]
            cats = stage2.get(r["post"], set())
            threat = 1 if cats & {"threatening", "incitement"} else (
                0 if cls == "not_hate" or cats else U)
            labels = {"hate": int(cls != "not_hate"), "threat": threat}
            out.append(row("implicit_hate", r["post"], labels, cls=cls))
    return out


def isca(root: Path) -> list[dict[str, object]]:
    out = []
    path = root / "isca-antisemitism/Updated_dataset_with_full_text.csv"
    with open(path, encoding="utf-8", errors="replace") as fh:
        for r in csv.DictReader(fh):
            out.append(row("isca", r["Text"], {"hate": int(r["Biased"].strip() == "1")},
                           keyword=r.get("Keyword", "")))
    return out


def toxigen(root: Path) -> list[dict[str, object]]:
    out = []
    for path in sorted((root / "toxigen-prompts").glob("*_1k.txt")):
        kind, group = path.stem.removesuffix("_1k").split("_", 1)
        seen: set[str] = set()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for part in line.split("\\n"):
                s = part.strip().removeprefix("- ").strip()
                if len(s) < 8 or s in seen:
                    continue
                seen.add(s)
                labels = ({"hate": 1} if kind == "hate"
                          else {lab: 0 for lab in LABELS})  # neutral statements: clean
                out.append(row("toxigen", s, labels, group=group))
    return out


def ethos(root: Path) -> list[dict[str, object]]:
    out = []
    with open(root / "ethos/Ethos_Dataset_Binary.csv", encoding="utf-8", errors="replace") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            out.append(row("ethos", r["comment"], {"hate": int(float(r["isHate"]) >= 0.5)},
                           score=float(r["isHate"])))
    return out


def own_examples(examples: Path) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {"train": [], "val": [], "test": []}
    for part in ("train", "test"):
        for line in (examples / f"{part}.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            split = part
            if part == "train" and split_of(r["id"]) == "val":
                split = "val"
            out[split].append(row("own", r["text"], r["labels"], kind=r["kind"], id=r["id"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--examples", default="training/examples")
    ap.add_argument("--out", default=".train/data")
    args = ap.parse_args()
    root, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    splits: dict[str, list[dict[str, object]]] = {"train": [], "val": [], "test": []}
    stats: Counter[tuple[str, str]] = Counter()
    for loader in (davidson, implicit_hate, isca, toxigen):
        seen: set[str] = set()
        for r in loader(root):
            key = dedup_key(str(r["text"]))
            if not key or key in seen:
                continue
            seen.add(key)
            split = split_of(key)
            splits[split].append(r)
            stats[(str(r["source"]), split)] += 1
    for split, rows in own_examples(Path(args.examples)).items():
        splits[split].extend(rows)
        stats[("own", split)] += len(rows)
    for split, rows in splits.items():
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    eth = ethos(root)
    with open(out / "ethos_eval.jsonl", "w", encoding="utf-8") as fh:
        for r in eth:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    stats[("ethos", "eval-only")] = len(eth)
    summary = {f"{s}/{p}": n for (s, p), n in sorted(stats.items())}
    (out / "stats.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
