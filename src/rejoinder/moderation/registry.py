"""Resolve the `REJOINDER_MODERATION_BACKEND` setting to a loaded classifier, once, at startup."""

from __future__ import annotations

from rejoinder.services.ports import Classifier


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
    raise UnknownBackend(f"unknown moderation backend {name!r}")
