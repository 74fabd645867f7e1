"""Live thread events for SSE readers, and cross-process cache invalidation.

`LocalEventBus` serves one process. `RedisEventBus` publishes to Redis so that every process
(machine) hears every event: each fans it out to its own SSE readers and drops its cached pages
of that thread. If Redis is down, events still reach this process's readers (a warning is logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

log = logging.getLogger("rejoinder.events")

Invalidate = Callable[[str, str], None]


class LocalEventBus:
    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], set[asyncio.Queue[bytes]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, site: str, thread: str, event: str, data: dict[str, Any]) -> None:
        self.deliver(site, thread, _frame(event, data))

    def deliver(self, site: str, thread: str, frame: bytes) -> None:
        """Hand a ready SSE frame to this process's readers of the thread (any thread may call)."""
        loop = self._loop
        with self._lock:
            queues = list(self._subscribers.get((site, thread), ()))
        if not queues or loop is None or loop.is_closed():
            return
        for q in queues:
            loop.call_soon_threadsafe(_offer, q, frame)

    @contextlib.asynccontextmanager
    async def subscribe(self, site: str, thread: str) -> AsyncIterator[asyncio.Queue[bytes]]:
        q: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)
        with self._lock:
            self._subscribers.setdefault((site, thread), set()).add(q)
        try:
            yield q
        finally:
            with self._lock:
                subs = self._subscribers.get((site, thread))
                if subs is not None:
                    subs.discard(q)
                    if not subs:
                        del self._subscribers[(site, thread)]

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())


def _offer(q: asyncio.Queue[bytes], frame: bytes) -> None:
    # A reader too slow to keep 256 events behind loses the oldest rather than stalling others.
    if q.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            q.get_nowait()
    q.put_nowait(frame)


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


CHANNEL = "rejoinder:events"


class RedisEventBus(LocalEventBus):
    """Publishes through Redis; a listener thread delivers every process's events locally."""

    def __init__(self, url: str, invalidate: Invalidate) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._invalidate = invalidate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-events", daemon=True)
        self._thread.start()

    def publish(self, site: str, thread: str, event: str, data: dict[str, Any]) -> None:
        message = orjson.dumps({"s": site, "t": thread, "e": event, "d": data})
        try:
            self._redis.publish(CHANNEL, message)
        except Exception as exc:  # Redis down: degrade to single-process behaviour, never fail
            log.warning("redis publish failed (%s); event delivered locally only",
                        type(exc).__name__)
            super().publish(site, thread, event, data)

    def _listen(self) -> None:
        deaf = False
        while not self._stop.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(CHANNEL)
                if deaf:
                    # Pages cached between the last retry and this subscription may have missed
                    # another process's writes: drop them once more, now that we hear again.
                    self._invalidate("*", "*")
                    log.warning("redis subscription restored; shared events resumed")
                    deaf = False
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "message":
                        self._on_message(msg["data"])
            except Exception as exc:
                if not deaf:
                    log.warning("redis subscription lost (%s); retrying every second",
                                type(exc).__name__)
                deaf = True
                # While deaf we miss other processes' writes: drop cached pages at every retry,
                # so a page is never more than about a second stale (single-process behaviour).
                self._invalidate("*", "*")
                self._stop.wait(1.0)

    def _on_message(self, raw: bytes) -> None:
        try:
            msg = orjson.loads(raw)
            site, thread = str(msg["s"]), str(msg["t"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        self._invalidate(site, thread)
        super().publish(site, thread, str(msg["e"]), msg["d"])

    def close(self) -> None:
        self._stop.set()
