"""Several processes share Redis: cache invalidations and live events reach every one of them."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rejoinder.events import RedisEventBus
from rejoinder.ratelimit import RateLimiter

pytestmark = pytest.mark.redis


def test_events_and_invalidations_reach_every_process(redis_url: str) -> None:
    dropped: list[tuple[str, str]] = []
    lock = threading.Lock()

    def invalidate(site: str, thread: str) -> None:
        with lock:
            dropped.append((site, thread))

    a = RedisEventBus(redis_url, lambda s, t: None)
    b = RedisEventBus(redis_url, invalidate)

    async def scenario() -> bytes:
        b.bind(asyncio.get_running_loop())
        async with b.subscribe("news", "/t") as queue:
            await asyncio.sleep(0.5)  # let both listeners subscribe
            a.publish("news", "/t", "comment.created", {"id": 7, "parent_id": None})
            return await asyncio.wait_for(queue.get(), timeout=5)

    result: list[bytes] = []
    # A thread of its own: another test's tooling may already run an event loop in this one.
    runner = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    try:
        runner.start()
        runner.join(15)
        frame = result[0]
    finally:
        a.close()
        b.close()
    assert frame.startswith(b"event: comment.created\ndata: ")
    assert b'"id":7' in frame
    assert ("news", "/t") in dropped


def test_rate_limits_are_shared_across_processes(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    one = RateLimiter({"post": "3/minute"}, enabled=True, redis_url=redis_url)
    two = RateLimiter({"post": "3/minute"}, enabled=True, redis_url=redis_url)
    one.check("post", "198.51.100.1")
    two.check("post", "198.51.100.1")
    one.check("post", "198.51.100.1")
    from rejoinder.domain.errors import RateLimited

    with pytest.raises(RateLimited):
        two.check("post", "198.51.100.1")
    two.check("post", "198.51.100.2")  # someone else is unaffected


def test_redis_down_degrades_to_local_behaviour() -> None:
    # Nothing listens on this port: publishing and limiting must still work, locally.
    url = "redis://127.0.0.1:1/0"
    bus = RedisEventBus(url, lambda s, t: None)
    try:
        bus.publish("news", "/t", "comment.created", {"id": 1})  # no exception
    finally:
        bus.close()
    limiter = RateLimiter({"post": "2/minute"}, enabled=True, redis_url=url)
    limiter.check("post", "x")
    limiter.check("post", "x")
    from rejoinder.domain.errors import RateLimited

    with pytest.raises(RateLimited):
        limiter.check("post", "x")
