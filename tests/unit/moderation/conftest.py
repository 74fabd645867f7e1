"""Fixtures for the moderation tests: the real pipeline, loaded once per session (CPU only)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rejoinder.moderation.pipeline import ModerationPipeline

REPO = Path(__file__).resolve().parents[3]
SEED = REPO.parent / "shared" / "fixtures" / "seed-threads.json"


@pytest.fixture(scope="session")
def pipeline() -> ModerationPipeline:
    return ModerationPipeline()


@pytest.fixture(scope="session")
def seed_comments() -> dict[str, str]:
    if not SEED.exists():
        message = f"{SEED} not present (needs ../shared beside the checkout)"
        if os.environ.get("CI") == "true":  # CI has ../shared: a missing file is a broken setup
            pytest.fail(message)
        pytest.skip(message)
    data = json.loads(SEED.read_text(encoding="utf-8"))
    return {c["id"]: c["body"] for t in data["threads"] for c in t["comments"]}
