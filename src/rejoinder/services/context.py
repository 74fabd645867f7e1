"""What every use case needs, built once at startup and passed down (no globals)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rejoinder.config import Settings
from rejoinder.services.cache import ThreadCache
from rejoinder.services.ports import Classifier, EventBus, UnitOfWork


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    uow: UnitOfWork
    classifier: Classifier
    events: EventBus
    cache: ThreadCache = field(default_factory=ThreadCache)
    now: Callable[[], datetime] = utcnow
    # Scoring runs here so a slow or stuck model cannot hold a request past its time budget.
    scoring_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="score")
    )

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC of `value` under the secret key, separated by purpose (IPs, voters, tokens)."""
        key = self.settings.secret_key.encode()
        return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()[:48]


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Tokens are stored as SHA-256: a stolen database does not give working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()
