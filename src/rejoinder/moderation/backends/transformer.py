"""The `transformer` backend: all-MiniLM-L6-v2 fine-tuned by us (training/train_transformer.py),
exported to ONNX and quantised to int8 (per channel); run with onnxruntime and tokenizers.

The model file ships in moderation/models/transformer/ (about 23 MB). Nothing is fetched at run
time. `InferenceSession.run` is thread-safe, so one instance serves every thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rejoinder.domain.moderation import Label, Scores
from rejoinder.moderation.backends.linear import models_dir
from rejoinder.moderation.normalise import normalise_text

LABELS = tuple(Label)
MAX_TOKENS = 128


def default_threads() -> int:
    env = os.environ.get("REJOINDER_MODERATION_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, os.cpu_count() or 1))


class TransformerModel:
    """Raw logits of the int8 ONNX model for normalised texts."""

    def __init__(self, directory: Path | None = None, threads: int | None = None,
                 providers: Sequence[str] | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        d = directory or models_dir() / "transformer"
        self.tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - not a secret
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or default_threads()
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(d / "model.int8.onnx"), so,
            providers=list(providers) if providers else ["CPUExecutionProvider"])
        self.version = "minilm-l6-int8-1"

    def logits(self, norm_texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(norm_texts), len(LABELS)), dtype=np.float32)
        if not norm_texts:
            return out
        order = np.argsort([len(t) for t in norm_texts], kind="stable")
        for i in range(0, len(order), batch_size):
            sel = order[i : i + batch_size]
            enc = self.tokenizer.encode_batch([norm_texts[j] for j in sel])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out[sel] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out


class TransformerClassifier:
    """The transformer alone (uncalibrated sigmoid); the `default` pipeline blends it."""

    name = "transformer"

    def __init__(self, model: TransformerModel | None = None) -> None:
        self.model = model or TransformerModel()
        self.version = self.model.version

    def score(self, texts: Sequence[str]) -> list[Scores]:
        logits = self.model.logits([normalise_text(t) for t in texts])
        probs = 1.0 / (1.0 + np.exp(-logits))
        return [Scores({lab: float(p[j]) for j, lab in enumerate(LABELS)}) for p in probs]
