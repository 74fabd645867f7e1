"""Storage of the Perspective-compatible service: API keys (hashed) and moderator feedback."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update

from rejoinder.storage.engine import Database
from rejoinder.storage.tables import PerspectiveFeedbackRow, PerspectiveKeyRow

keys = cast(Table, PerspectiveKeyRow.__table__)
feedback_rows = cast(Table, PerspectiveFeedbackRow.__table__)


def hash_key(key: str) -> str:
    """Keys are stored as SHA-256: a copy of the database gives no working key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    qps: int
    daily_quota: int
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Feedback:
    key_name: str
    client_token: str
    community_id: str | None
    text: str
    toxic: int | None
    attributes: Mapping[str, float]
    languages: Sequence[str]
    updated_at: datetime


class PerspectiveStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_key(self, name: str, *, qps: int, daily_quota: int, now: datetime
                   ) -> tuple[str, ApiKey]:
        """A new key; the plain key is returned once and never stored."""
        plain = "rj_" + secrets.token_urlsafe(30)
        with self.db.writer.begin() as conn:
            exists = conn.execute(select(keys.c.id).where(keys.c.name == name)).first()
            if exists:
                raise ValueError(f"a key named {name!r} exists")
            new_id = conn.execute(
                keys.insert().returning(keys.c.id),
                {"name": name, "key_hash": hash_key(plain), "qps": qps,
                 "daily_quota": daily_quota, "created_at": now},
            ).scalar_one()
        return plain, ApiKey(int(new_id), name, qps, daily_quota, now, None)

    def find_key(self, plain: str) -> ApiKey | None:
        """The live (not revoked) key for a plain key, or None."""
        t = keys
        with self.db.reader.connect() as conn:
            row = conn.execute(select(t).where(t.c.key_hash == hash_key(plain),
                                               t.c.revoked_at.is_(None))).first()
        if row is None:
            return None
        return ApiKey(row.id, row.name, row.qps, row.daily_quota, row.created_at, row.revoked_at)

    def list_keys(self) -> list[ApiKey]:
        t = keys
        with self.db.reader.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).all()
        return [ApiKey(r.id, r.name, r.qps, r.daily_quota, r.created_at, r.revoked_at)
                for r in rows]

    def revoke_key(self, name: str, now: datetime) -> bool:
        """Revoke a key by name; False when there is no live key of that name."""
        t = keys
        with self.db.writer.begin() as conn:
            done = conn.execute(update(t).where(t.c.name == name, t.c.revoked_at.is_(None))
                                .values(revoked_at=now))
        return bool(done.rowcount)

    def save_feedback(self, key_id: int, *, client_token: str, community_id: str | None,
                      text: str, toxic: int | None, attributes: Mapping[str, float],
                      languages: Sequence[str], now: datetime) -> None:
        """Store one verdict; a later verdict on the same client token replaces it."""
        t = feedback_rows
        values: dict[str, Any] = {"community_id": community_id, "text": text, "toxic": toxic,
                                  "attributes": dict(attributes), "languages": list(languages),
                                  "updated_at": now}
        with self.db.writer.begin() as conn:
            found = conn.execute(select(t.c.id).where(t.c.key_id == key_id,
                                                      t.c.client_token == client_token)).first()
            if found:
                conn.execute(update(t).where(t.c.id == found.id).values(**values))
            else:
                conn.execute(t.insert().values(key_id=key_id, client_token=client_token,
                                               created_at=now, **values))

    def feedback(self, key_name: str | None = None) -> Iterator[Feedback]:
        """Every stored verdict (of one key, or all), oldest first, in batches."""
        f, k = feedback_rows, keys
        q = select(f, k.c.name).join(k, k.c.id == f.c.key_id).order_by(f.c.id)
        if key_name is not None:
            q = q.where(k.c.name == key_name)
        with self.db.reader.connect() as conn:
            for r in conn.execution_options(yield_per=500).execute(q):
                yield Feedback(r.name, r.client_token, r.community_id, r.text, r.toxic,
                               r.attributes, r.languages, r.updated_at)
