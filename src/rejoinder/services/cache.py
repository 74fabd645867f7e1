"""Serialised thread pages, cached per thread until the thread changes.

The read path is the hot path (articles going viral): a cached page is served as bytes with no
database query. Every write that changes what readers see calls `invalidate(site, thread)`, in
this process directly and in the others through the event bus (Redis), after commit.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict


class ThreadCache:
    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._pages: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._by_thread: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
        self._generation: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        # Published-comment counts per (site, thread key), for listing pages.
        self._counts: dict[tuple[str, str], int] = {}
        self.enabled = True
        # Moves on every invalidation anywhere: what was derived from the cache before is stale.
        self.version = 0

    def generation(self, site: str, thread: str) -> int:
        """A counter that moves on every invalidation; a page built under an older one is stale."""
        return self._generation.get((site, thread), 0)

    def get(self, site: str, thread: str, variant: str) -> bytes | None:
        key = (site, thread, variant)
        page = self._pages.get(key)
        if page is not None:
            # Evicted concurrently? The page we hold is still valid.
            with contextlib.suppress(KeyError):
                self._pages.move_to_end(key)
        return page

    def put(self, site: str, thread: str, variant: str, page: bytes, generation: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            # A write committed while we were reading: don't cache the old page.
            if self._generation.get((site, thread), 0) != generation:
                return
            key = (site, thread, variant)
            self._pages[key] = page
            self._by_thread.setdefault((site, thread), set()).add(key)
            while len(self._pages) > self._max:
                old, _ = self._pages.popitem(last=False)
                keys = self._by_thread.get(old[:2])
                if keys is not None:
                    keys.discard(old)

    def counts(self, site: str, keys: list[str]) -> dict[str, int] | None:
        """All the counts asked for, or None if any is not cached."""
        out = {}
        for key in keys:
            n = self._counts.get((site, key))
            if n is None:
                return None
            out[key] = n
        return out

    def put_counts(self, site: str, counts: dict[str, int], generations: dict[str, int]) -> None:
        if not self.enabled:
            return
        with self._lock:
            if len(self._counts) > self._max * 16:
                self._counts.clear()
            for key, n in counts.items():
                if self._generation.get((site, key), 0) == generations[key]:
                    self._counts[(site, key)] = n

    def invalidate(self, site: str, thread: str) -> None:
        with self._lock:
            self.version += 1
            self._counts.pop((site, thread), None)
            self._generation[(site, thread)] = self._generation.get((site, thread), 0) + 1
            for key in self._by_thread.pop((site, thread), ()):
                self._pages.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.version += 1
            for site_thread in list(self._by_thread):
                self._generation[site_thread] = self._generation.get(site_thread, 0) + 1
            self._pages.clear()
            self._by_thread.clear()
            self._counts.clear()
