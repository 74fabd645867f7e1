"""The transformer's scores are a function of the comment alone: a comment scored in a bulk batch
gets exactly the logits it gets when posted on its own (the int8 model quantises activations per
tensor, so padded batches used to leak neighbours and padding into every row's scores)."""

from __future__ import annotations

import numpy as np
import pytest

from rejoinder.moderation.normalise import normalise_text
from rejoinder.moderation.pipeline import ModerationPipeline

TEXTS = [
    "Short one.",
    "The synagogue and the mosque held a joint food drive, and the whole street came along to "
    "help carry the boxes from the vans into the hall before the rain started in the evening.",
    "Those people should not be allowed to vote, they are vermin.",
    "I disagree with the Israeli government's policy on settlements.",
    "word " * 300,  # longer than the 128-token window
    "Get lost, you sad, ignorant fool.",
]


def test_batch_logits_equal_single_logits(pipeline: ModerationPipeline) -> None:
    model = pipeline.transformer
    assert model is not None
    norms = [normalise_text(t) for t in TEXTS]
    batched = model.logits(norms)
    single = np.stack([model.logits([n])[0] for n in norms])
    reordered = model.logits(norms[::-1])[::-1]
    assert np.array_equal(batched, single)
    assert np.array_equal(batched, reordered)
    assert np.isfinite(batched).all()


def test_pipeline_batch_equals_single(pipeline: ModerationPipeline) -> None:
    batched = pipeline.score(TEXTS)
    for text, b in zip(TEXTS, batched, strict=True):
        assert pipeline.score([text])[0].values == b.values


def test_empty_batch(pipeline: ModerationPipeline) -> None:
    assert pipeline.score([]) == []
    assert pipeline.transformer is not None
    assert pipeline.transformer.logits([]).shape == (0, 5)


def test_stream_matches_logits_and_releases_workers(pipeline: ModerationPipeline) -> None:
    model = pipeline.transformer
    assert model is not None
    norms = [normalise_text(t) for t in TEXTS]
    with model.stream() as stream:
        stream.put([10, 11, 12], norms[:3])
        stream.put([13, 14, 15], norms[3:])
        done = stream.finish()
    single = np.stack([model.logits([n])[0] for n in norms])  # no stream: one run each
    assert np.array_equal(np.stack([done[k] for k in range(10, 16)]), single)
    with pytest.raises(RuntimeError), model.stream() as stream:
        stream.put([0, 1], norms[:2])
        raise RuntimeError("caller failed half-way")
    if model.threads > 1:  # the helpers went back to the pool: it still runs new work
        assert model._workers().submit(lambda: 42).result(timeout=10) == 42


def test_batch_after_fork(pipeline: ModerationPipeline) -> None:
    """A pre-forking server may have scored a batch before forking: the child gets new workers."""
    import os

    model = pipeline.transformer
    assert model is not None
    norms = [normalise_text(t) for t in TEXTS]
    expected = model.logits(norms)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # child: score a batch, exit 0 if it matches (a hang is killed by the parent)
        ok = np.array_equal(model.logits(norms), expected)
        os._exit(0 if ok else 1)
    for _ in range(300):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        import time

        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("the forked child hung scoring a batch")
    assert os.waitstatus_to_exitcode(status) == 0
