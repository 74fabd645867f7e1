"""Rejoinder: a self-hosted comment engine with offline moderation."""

__version__ = "0.1.0"
