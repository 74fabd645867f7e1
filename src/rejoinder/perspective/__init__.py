"""A Perspective-API-compatible moderation service on top of Rejoinder's classifiers (ADR 0011)."""
