"""Per-IP and per-site rate limits (moving windows), shared through Redis when configured."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from rejoinder.domain.errors import RateLimited

log = logging.getLogger("rejoinder.ratelimit")


class RateLimiter:
    def __init__(self, rules: dict[str, str], *, enabled: bool, redis_url: str = "") -> None:
        self.enabled = enabled
        self._rules: dict[str, list[RateLimitItem]] = {k: parse_many(v) for k, v in rules.items()}
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if redis_url:
            storage = storage_from_string(redis_url)
            assert isinstance(storage, Storage)
            self._shared = MovingWindowRateLimiter(storage)
        self._shared_down_until = 0.0

    def check(self, rule: str, *identity: str) -> None:
        """Count one hit for `identity` under `rule`; raise RateLimited past any of its limits."""
        if not self.enabled:
            return
        limiter = self._limiter()
        for item in self._rules[rule]:
            try:
                allowed = limiter.hit(item, rule, *identity)
            except Exception as exc:  # Redis down: fall back to this process's own counts
                self._shared_down_until = time.monotonic() + 5
                log.warning("shared rate limit store failed (%s); using local limits",
                            type(exc).__name__)
                limiter = self._local
                allowed = limiter.hit(item, rule, *identity)
            if not allowed:
                reset = limiter.get_window_stats(item, rule, *identity).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise RateLimited(f"too many requests; retry in {retry} s", retry_after=retry)

    def _limiter(self) -> MovingWindowRateLimiter:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            return self._shared
        return self._local
