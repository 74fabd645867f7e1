"""The `transformer` backend: all-MiniLM-L6-v2 fine-tuned by us (training/train_transformer.py),
exported to ONNX and quantised to int8 (per channel); run with onnxruntime and tokenizers.

The model file ships in moderation/models/transformer/ (about 23 MB). Nothing is fetched at run
time. `InferenceSession.run` is thread-safe, so one instance serves every thread.

Every comment runs on its own (batch of one, no padding). The model quantises its activations
*dynamically, per tensor* (`DynamicQuantizeLinear`): the int8 scale is the range of the whole
input tensor, so in a padded batch a comment's logits depended on its neighbours and on the
padding (up to 0.9 logit apart, 0.12 on average, on the seed threads), and a comment scored
at posting time could differ from the same comment in a bulk rescore. One at a time, the scores
are a function of the text alone. Throughput comes from running comments in parallel instead:
the session has one intra-op thread (no spinning, no barrier between threads, so a core taken
by the web server or other work stalls only its own comment), and `logits()` spreads a batch
over `threads` workers, longest comments first; one comment alone runs on the calling thread.
`stream()` lets a caller feed comments while the workers already score them (the `default`
pipeline runs its rules and linear model on the next chunk meanwhile).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import numpy as np

from rejoinder.domain.moderation import Label, Scores
from rejoinder.moderation.backends.linear import models_dir
from rejoinder.moderation.normalise import normalise_text

LABELS = tuple(Label)
MAX_TOKENS = 128


def default_threads() -> int:
    """Worker threads for a batch: REJOINDER_MODERATION_THREADS, else the usable cores (max 4)."""
    env = os.environ.get("REJOINDER_MODERATION_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


class TransformerModel:
    """Raw logits of the int8 ONNX model for normalised texts."""

    def __init__(self, directory: Path | None = None, threads: int | None = None,
                 providers: Sequence[str] | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        d = directory or models_dir() / "transformer"
        self.tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # tokenizer.json pads to 128; we run unpadded rows
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        so.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(d / "model.int8.onnx"), so,
            providers=list(providers) if providers else ["CPUExecutionProvider"])
        self.threads = threads or default_threads()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        # -2: one comment per run (ADR 0019); -1 scored padded batches, batch-dependent
        self.version = "minilm-l6-int8-2"

    def _run(self, ids: list[int]) -> np.ndarray:
        x = np.array(ids, dtype=np.int64).reshape(1, -1)
        out: np.ndarray = self.session.run(None, {"input_ids": x,
                                                  "attention_mask": np.ones_like(x)})[0][0]
        return out

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            # A forked child (a pre-forking server) inherits the pool but not its threads.
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.threads - 1,
                                                thread_name_prefix="moderation-trf")
                self._pool_pid = os.getpid()
            return self._pool

    def logits(self, norm_texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(norm_texts), len(LABELS)), dtype=np.float32)
        if not norm_texts:
            return out
        if len(norm_texts) == 1:
            out[0] = self._run(self.tokenizer.encode(norm_texts[0]).ids)
            return out
        order = sorted(range(len(norm_texts)), key=lambda i: -len(norm_texts[i]))  # longest first
        with self.stream() as stream:
            stream.put(order, [norm_texts[i] for i in order])
            for i, row in stream.finish().items():
                out[i] = row
        return out

    def stream(self) -> TransformerStream:
        """Score comments as they are fed (see `TransformerStream`)."""
        return TransformerStream(self)


class TransformerStream:
    """Comments go in with `put()` and are scored by the worker threads at once; `finish()`
    scores what is left on the calling thread too and returns the logits by key. Use it as a
    context manager, so the workers are released even if the caller fails half-way."""

    def __init__(self, model: TransformerModel) -> None:
        self._model = model
        self._queue: queue.SimpleQueue[tuple[int, list[int]] | None] = queue.SimpleQueue()
        self._results: dict[int, np.ndarray] = {}
        self._helpers: list[Future[None]] = []
        self._closed = False

    def put(self, keys: Sequence[int], norm_texts: Sequence[str]) -> None:
        if not norm_texts:
            return
        if not self._helpers and self._model.threads > 1:
            pool = self._model._workers()
            self._helpers = [pool.submit(self._drain) for _ in range(self._model.threads - 1)]
        for key, enc in zip(keys, self._model.tokenizer.encode_batch(list(norm_texts)),
                            strict=True):
            self._queue.put((key, enc.ids))

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            self._results[item[0]] = self._model._run(item[1])

    def finish(self) -> dict[int, np.ndarray]:
        while True:  # the calling thread takes its share of what is still queued
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                break
            self._results[item[0]] = self._model._run(item[1])
        self._close()
        for f in self._helpers:
            f.result()  # re-raises a worker's error
        return self._results

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            for _ in self._helpers:
                self._queue.put(None)

    def __enter__(self) -> TransformerStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close()


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
