"""Our training examples must not leak the test sets (ADR 0014): no identity test sentence and no
identity test frame is trained on or used for validation, and no seed-thread comment (or a long
piece of one) is in the training examples."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "training" / "examples"


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_examples", EXAMPLES / "build_examples.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _texts(name: str) -> list[str]:
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines]


def _kinds(name: str) -> list[tuple[str, str]]:
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [(str(json.loads(line)["kind"]), str(json.loads(line)["text"])) for line in lines]


def test_identity_test_sentences_never_trained_or_validated() -> None:
    test = set(_texts("identity_neutral.jsonl"))
    assert len(test) == 265
    assert not test & set(_texts("train.jsonl"))
    assert not test & set(_texts("identity_val.jsonl"))


def test_debiasing_frames_differ_from_identity_test_frames() -> None:
    mod = _build()
    terms = mod.identity_terms()

    def grams(text: str) -> set[tuple[str, ...]]:
        w = mod._skeleton(text, terms)
        return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}

    test_grams: set[tuple[str, ...]] = set()
    for t in _texts("identity_neutral.jsonl"):
        test_grams |= grams(t)
    debias = [t for k, t in _kinds("train.jsonl") if k.startswith("identity_debias")]
    assert len(debias) > 400
    val = _texts("identity_val.jsonl")
    assert not set(debias) & set(val)
    for text in debias + val:
        assert not grams(text) & test_grams, text


def test_committed_examples_are_what_the_builder_writes(tmp_path: Path) -> None:
    mod = _build()
    mod.HERE = tmp_path
    mod.main()
    for name in ("train.jsonl", "test.jsonl", "identity_neutral.jsonl", "identity_val.jsonl"):
        assert (tmp_path / name).read_text() == (EXAMPLES / name).read_text(), name


def test_no_seed_thread_comment_in_training_examples(seed_comments: dict[str, str]) -> None:
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", text.lower())

    def shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
        w = words(text)
        return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}

    seed_sh: set[tuple[str, ...]] = set()
    for body in seed_comments.values():
        seed_sh |= shingles(body)
    own = _texts("train.jsonl") + _texts("identity_val.jsonl")
    leaked = [t for t in own if shingles(t) & seed_sh]
    assert not leaked, leaked
