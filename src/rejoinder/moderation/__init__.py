"""Moderation backends (classifiers) and the pipeline that runs them; decisions live in domain."""
