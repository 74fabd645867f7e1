"""Shared fixtures: settings, a migrated database per test (SQLite and PostgreSQL), the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from rejoinder.app import create_app
from rejoinder.config import Settings
from rejoinder.moderation.backends.keywords import KeywordClassifier
from rejoinder.services.ports import Classifier
from rejoinder.storage.engine import migrate

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("REJOINDER_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("REJOINDER_TEST_REDIS_URL", "")


def _need(what: str, value: str) -> None:
    # Under CI the real services are running: a missing URL is a broken setup, never a skip.
    if not value:
        if IN_CI:
            pytest.fail(f"{what} is not set under CI=true; .ci/run must set it")
        pytest.skip(f"{what} not set")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        migrate(url)
        yield url
        return
    _need("REJOINDER_TEST_POSTGRES_URL", PG_URL)
    yield from _pg_schema()


def _pg_schema() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(base, pool_pre_ping=True)  # survives make faults' PG restart
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    _need("REJOINDER_TEST_POSTGRES_URL", PG_URL)
    yield from _pg_schema()


@pytest.fixture
def redis_url() -> str:
    _need("REJOINDER_TEST_REDIS_URL", REDIS_URL)
    return REDIS_URL


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings_factory(db_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "development",
            "data_dir": tmp_path,
            "database_url": db_url,
            "rate_limits": False,
            "create_demo": False,
            "public_url": "http://testserver",
            "moderation_backend": "keywords",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def classifier() -> Classifier:
    return KeywordClassifier()


@pytest.fixture
def app_factory(
    settings_factory: Callable[..., Settings], classifier: Classifier, clock: Clock
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(*, client_ip: str = "203.0.113.7", classifier_override: Classifier | None = None,
             **overrides: Any) -> TestClient:
        app = create_app(settings_factory(**overrides),
                         classifier=classifier_override or classifier)
        app.state.services.now = clock
        tc = TestClient(app, client=(client_ip, 40000), raise_server_exceptions=False)
        tc.__enter__()
        clients.append(tc)
        return tc

    yield make
    for tc in clients:
        tc.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: Callable[..., TestClient]) -> TestClient:
    tc = app_factory()
    make_site(tc, "news", ["https://news.example.org"])
    return tc


# Tests post many comments from one address at one (frozen) instant: without this, the default
# flood and duplicate rules would hold them. test_site_rules.py tests those rules.
TEST_SITE_SETTINGS: dict[str, Any] = {"flood_max": 10_000, "duplicate_threshold": 1.01}


def make_site(tc: TestClient, slug: str, origins: list[str],
              settings: dict[str, Any] | None = None) -> None:
    from rejoinder.services.sites import create_site

    create_site(tc.app.state.services, slug, origins,  # type: ignore[attr-defined]
                settings=TEST_SITE_SETTINGS if settings is None else settings)


def moderator_token(tc: TestClient, site: str) -> str:
    from rejoinder.domain.sites import Role
    from rejoinder.services.sites import create_token

    return create_token(tc.app.state.services, site, Role.MODERATOR)  # type: ignore[attr-defined]
