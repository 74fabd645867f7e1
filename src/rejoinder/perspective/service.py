"""The Perspective-compatible service: keys, quotas, scoring and feedback, behind the web layer.

Built once per app. API keys are looked up through a short cache (a revoked key stops working
within `KEY_CACHE_S`); quotas are per key, per second and per day, in process memory or in Redis
when `REJOINDER_REDIS_URL` is set (shared by every server process). Scoring runs in a thread pool
with the moderation time budget, so a slow model cannot block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from prometheus_client import Counter, Histogram

from rejoinder.moderation.normalise import normalise_text
from rejoinder.perspective.attributes import AttributeScores, attribute_scores
from rejoinder.perspective.wire import (
    PerspectiveError,
    analyze,
    parse_analyze,
    parse_suggest,
    suggest_answer,
)
from rejoinder.services.ports import Classifier
from rejoinder.storage.perspective import ApiKey, PerspectiveStore

log = logging.getLogger("rejoinder.perspective")

KEY_CACHE_S = 5.0
REQUESTS = Counter("rejoinder_perspective_requests_total",
                   "Perspective-compatible API requests, by API key name, method and status",
                   ["key", "method", "code"])
SCORED_CHARS = Counter("rejoinder_perspective_scored_chars_total",
                       "Characters of comment text scored, by API key name", ["key"])
FEEDBACK = Counter("rejoinder_perspective_feedback_total",
                   "Moderator verdicts received (stored or not), by key and outcome",
                   ["key", "stored"])
SCORING = Histogram("rejoinder_perspective_scoring_seconds", "Time to score one analyze request",
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))


class KeyQuota:
    """Per-key limits: `qps` per second (moving window) and `daily_quota` per day."""

    def __init__(self, redis_url: str = "") -> None:
        local = MemoryStorage()
        self._local: tuple[RateLimiter, RateLimiter] = (
            MovingWindowRateLimiter(local), FixedWindowRateLimiter(local))
        self._shared: tuple[RateLimiter, RateLimiter] | None = None
        if redis_url:
            storage = storage_from_string(redis_url)
            assert isinstance(storage, Storage)
            self._shared = (MovingWindowRateLimiter(storage), FixedWindowRateLimiter(storage))
        self._shared_down_until = 0.0

    def hit(self, key: ApiKey) -> None:
        """Count one request for `key`; raise 429 RESOURCE_EXHAUSTED past either limit."""
        checks: list[tuple[int, RateLimitItem, str]] = [
            (0, RateLimitItemPerSecond(max(key.qps, 1)), "per second")]
        if key.daily_quota > 0:
            checks.append((1, RateLimitItemPerDay(key.daily_quota), "per day"))
        for which, item, period in checks:
            limiter = self._limiters()[which]
            try:
                allowed = limiter.hit(item, "perspective", str(key.id))
            except Exception as exc:  # Redis down: count in this process for a while
                log.warning("shared quota store failed (%s); using local counts",
                            type(exc).__name__)
                self._shared_down_until = time.monotonic() + 5
                limiter = self._local[which]
                allowed = limiter.hit(item, "perspective", str(key.id))
            if not allowed:
                reset = limiter.get_window_stats(item, "perspective", str(key.id)).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise PerspectiveError(
                    429, f"Quota exceeded for quota metric 'Analysis requests' and limit "
                    f"'{item.amount} requests {period}' of API key '{key.name}'.",
                    reason="RATE_LIMIT_EXCEEDED", retry_after=retry)

    def _limiters(self) -> tuple[RateLimiter, RateLimiter]:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            return self._shared
        return self._local


class PerspectiveService:
    def __init__(self, store: PerspectiveStore, classifier: Classifier, *,
                 quota: KeyQuota, now: Callable[[], datetime], timeout_s: float) -> None:
        self.store = store
        self.classifier = classifier
        self.quota = quota
        self.now = now
        self.timeout_s = timeout_s
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="perspective")
        self._keys: dict[str, tuple[float, ApiKey | None]] = {}

    # -- keys ------------------------------------------------------------------------------
    def authenticate(self, plain: str | None) -> ApiKey:
        """The key's record, or Google's errors: 403 without a key, 400 with a bad one."""
        if not plain:
            raise PerspectiveError(403, "The request is missing a valid API key.",
                                   reason="API_KEY_MISSING")
        now = time.monotonic()
        cached = self._keys.get(plain)
        if cached is None or cached[0] < now:
            if len(self._keys) > 10_000:  # random keys must not grow this without bound
                self._keys.clear()
            cached = (now + KEY_CACHE_S, self.store.find_key(plain))
            self._keys[plain] = cached
        key = cached[1]
        if key is None:
            raise PerspectiveError(400, "API key not valid. Please pass a valid API key.",
                                   reason="API_KEY_INVALID")
        return key

    # -- scoring ---------------------------------------------------------------------------
    def score(self, texts: Sequence[str]) -> list[AttributeScores]:
        scores = self.classifier.score(list(texts))
        return [attribute_scores(s, normalise_text(t)) for s, t in zip(scores, texts, strict=True)]

    async def analyze(self, key: ApiKey, body: Any) -> dict[str, Any]:
        """Parse, check languages, score (in the pool, within the time budget) and answer."""
        req = parse_analyze(body)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        # Parsing and language checks happen before scoring; `analyze` calls back into `score`
        # from the pool thread, so only the model runs off the event loop.
        try:
            answer = await asyncio.wait_for(
                loop.run_in_executor(self.pool, analyze, req, self.score), self.timeout_s)
        except PerspectiveError:
            raise
        except TimeoutError as exc:
            raise PerspectiveError(503, "Scoring took longer than the time budget; retry.",
                                   retry_after=1) from exc
        except Exception as exc:  # a model failure is ours, not the client's
            log.exception("scoring failed: %s", type(exc).__name__)
            raise PerspectiveError(503, "Scoring is unavailable; retry.", retry_after=5) from exc
        SCORING.observe(time.perf_counter() - started)
        SCORED_CHARS.labels(key.name).inc(len(req.text))
        return answer

    # -- feedback --------------------------------------------------------------------------
    def suggest(self, key: ApiKey, body: Any) -> dict[str, Any]:
        """Store a moderator's verdict as a labelled example, unless the client said not to."""
        req = parse_suggest(body)
        if not req.do_not_store:
            token = req.client_token or f"anon:{uuid.uuid4().hex}"
            self.store.save_feedback(key.id, client_token=token, community_id=req.community_id,
                                     text=req.text, toxic=req.toxic, attributes=req.attributes,
                                     languages=req.languages, now=self.now())
        FEEDBACK.labels(key.name, "no" if req.do_not_store else "yes").inc()
        return suggest_answer(req)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
