"""The batched tf-idf and linear logits give the per-text results (ids exactly, values to
float rounding), whatever the neighbours in the batch."""

from __future__ import annotations

import numpy as np

from rejoinder.moderation import features
from rejoinder.moderation.backends.linear import LinearModel
from rejoinder.moderation.normalise import normalise_text

TEXTS = ["", "a", "ab", "zio", "x" * 2500, "é ü 日本 🙂 emoji text", "The kikes run the banks.",
         "I disagree with the Israeli government's policy on settlements.", " ",
         "Trans people live in every part of this city."]


def test_tfidf_batch_matches_rows() -> None:
    norms = [normalise_text(t) for t in TEXTS]
    idf = np.linspace(1.0, 9.0, features.N_FEATURES, dtype=np.float32)
    doc, ids, vals = features.tfidf_batch(norms, idf)
    for i, (row_ids, row_vals) in enumerate(features.tfidf_rows(norms, idf)):
        assert np.array_equal(ids[doc == i], row_ids)
        np.testing.assert_allclose(vals[doc == i], row_vals, rtol=1e-6, atol=1e-7)


def test_linear_logits_batch_matches_single() -> None:
    model = LinearModel()
    norms = [normalise_text(t) for t in TEXTS]
    batched = model.logits(norms)
    for i, (ids, vals) in enumerate(features.tfidf_rows(norms, model.idf)):
        np.testing.assert_allclose(batched[i], vals @ model.weights[ids] + model.bias,
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(model.logits([norms[i]])[0], batched[i], rtol=1e-6,
                                   atol=1e-6)
    assert model.logits([]).shape == (0, 5)
