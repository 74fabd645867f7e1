"""Migrations: an empty database upgrades to head on both dialects, with no model drift."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from rejoinder.storage.engine import alembic_config, migrate


def test_upgrade_to_head_then_no_drift(db_url: str) -> None:
    # db_url is already at head (the fixture migrates): run it again (idempotent), then check.
    migrate(db_url)
    command.check(alembic_config(db_url))  # raises if models and migrations disagree
    engine = create_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"sites", "threads", "comments", "votes", "flags", "api_tokens", "bans",
            "audit_log", "alembic_version"} <= tables


def test_downgrade_to_base_and_back(db_url: str) -> None:
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "base")
    engine = create_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    command.upgrade(cfg, "head")
