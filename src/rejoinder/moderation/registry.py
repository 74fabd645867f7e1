"""Resolve the `REJOINDER_MODERATION_BACKEND` setting to a loaded classifier, once, at startup.

Names: `default` (the full pipeline: normalisation, lexicon and spam rules, linear model and the
int8 transformer in a cascade), `fast` (the same pipeline without the transformer), `linear`, `transformer`, `keywords` (word lists only) and `null`
(always clean). Every model loads from the installed package, never from a hub.
"""

from __future__ import annotations

from rejoinder.services.ports import Classifier

BACKENDS = ("default", "fast", "linear", "transformer", "keywords", "null")


class UnknownBackend(ValueError):
    pass


def load_classifier(name: str) -> Classifier:
    """Load a backend by name. Models load from the installed package only, never a hub."""
    if name == "null":
        from rejoinder.moderation.backends.null import NullClassifier

        return NullClassifier()
    if name == "keywords":
        from rejoinder.moderation.backends.keywords import KeywordClassifier

        return KeywordClassifier()
    if name in ("default", "pipeline"):
        from rejoinder.moderation.pipeline import ModerationPipeline

        return ModerationPipeline()
    if name == "fast":  # rules + linear model only: for bulk rescoring on small CPUs
        from rejoinder.moderation.pipeline import ModerationPipeline

        return ModerationPipeline(use_transformer=False)
    if name == "linear":
        from rejoinder.moderation.backends.linear import LinearClassifier

        return LinearClassifier()
    if name == "transformer":
        from rejoinder.moderation.backends.transformer import TransformerClassifier

        return TransformerClassifier()
    raise UnknownBackend(f"unknown moderation backend {name!r} (known: {', '.join(BACKENDS)})")
