"""Records → rows, inline or in a worker process (issue 5, ADR 0012).

Turning a comment into a row is most of an import's CPU: sanitising its HTML exactly as a new
comment's (nh3, which holds the GIL, so threads would not help), its plain text, the keyed IP
hash. With a second CPU, a worker process does that while the importing process parses the file
and writes to the database. Batches go out and come back in order, at most `_IN_FLIGHT` at a
time, so memory stays flat; an error in the worker (or its death) fails the import like any
other error, and the transaction is rolled back.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from rejoinder.domain.comments import CommentStatus
from rejoinder.importers.records import (
    SourceComment,
    clean_body_text,
    clean_email,
    clean_text_line,
    html_to_text,
    images_as_links,
)
from rejoinder.markup import render_comment_html, sanitize_html
from rejoinder.storage.bulk import StagedComment

Batch = list[tuple[SourceComment, int]]  # records and the stager's thread number of each
Rows = list[StagedComment | None]  # None: an empty comment, skipped
Accept = Callable[[Rows], None]

_DELETED = CommentStatus.DELETED
_HASH_CACHE = 65536  # distinct IPs remembered (readers comment many times from one address)


@dataclass
class RowBuilder:
    """The row of one imported comment: cleaned, sanitised, IP hashed. Pure CPU, no I/O."""

    prefix: str  # "disqus:", the source system of `comments.source_key`
    hash_ip: Callable[[str], str]
    _hashes: dict[str, str] = field(default_factory=dict)

    def build(self, c: SourceComment, thread: int) -> StagedComment | None:
        deleted = c.status is _DELETED
        if deleted:
            # What its author or a moderator removed is not carried over: the row keeps the
            # tree's shape and shows as "[deleted]".
            body_md = body_html = ""
        elif c.markdown is not None:
            body_md = clean_body_text(c.markdown)
            body_html = render_comment_html(body_md)
        else:
            body_html = sanitize_html(images_as_links(c.html or ""))
            body_md = html_to_text(body_html)
        if not body_md and not deleted:
            return None
        up, down = max(c.upvotes, 0), max(c.downvotes, 0)
        return StagedComment(
            self.prefix + c.ref,
            self.prefix + c.parent_ref if c.parent_ref else None,
            thread,
            c.status.value,
            body_md,
            body_html,
            clean_text_line(c.author_name, 100),
            clean_email(c.author_email),
            self._ip_hash(c.ip),
            None,
            up - down,
            up,
            down,
            c.created_at,
            c.edited_at,
        )

    def build_all(self, batch: Batch) -> Rows:
        build = self.build
        return [build(c, thread) for c, thread in batch]

    def _ip_hash(self, ip: str | None) -> str | None:
        if not ip:
            return None
        ip = ip.strip()
        if not ip:
            return None
        found = self._hashes.get(ip)
        if found is None:
            if len(self._hashes) >= _HASH_CACHE:
                self._hashes.clear()
            found = self._hashes[ip] = self.hash_ip(ip)
        return found


class RowConverter(Protocol):
    def submit(self, batch: Batch) -> None:
        """Convert a batch; its rows reach `accept` in submission order (maybe later)."""

    def drain(self) -> None:
        """Wait until every submitted batch has reached `accept`."""

    def close(self) -> None: ...


def row_converter(builder: RowBuilder, workers: int, accept: Accept) -> RowConverter:
    """Inline for `workers` 0 (one CPU, or asked for); otherwise a worker process."""
    if workers <= 0:
        return _Inline(builder, accept)
    return _InWorker(builder, workers, accept)


class _Inline:
    def __init__(self, builder: RowBuilder, accept: Accept) -> None:
        self.builder = builder
        self.accept = accept

    def submit(self, batch: Batch) -> None:
        self.accept(self.builder.build_all(batch))

    def drain(self) -> None:
        pass

    def close(self) -> None:
        pass


_IN_FLIGHT = 4  # batches out at once per worker: enough to keep both sides busy, memory flat

_worker_builder: RowBuilder | None = None


def _start_worker(builder: RowBuilder) -> None:
    global _worker_builder
    _worker_builder = builder
    # Ctrl-C is for the importing process: it rolls back and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _build_in_worker(batch: Batch) -> Rows:
    assert _worker_builder is not None
    return _worker_builder.build_all(batch)


class _InWorker:
    def __init__(self, builder: RowBuilder, workers: int, accept: Accept) -> None:
        # fork: the worker starts warm (modules imported) and gets the keyed hash function
        # without pickling the secret key; it touches no connection, file or lock of ours.
        context = multiprocessing.get_context("fork")
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                        initargs=(builder,))
        self.pool.submit(int).result()  # fork now, before any thread of ours (COPY) exists
        self.limit = workers * _IN_FLIGHT
        self.accept = accept
        self.out: deque[Future[Rows]] = deque()

    def submit(self, batch: Batch) -> None:
        self.out.append(self.pool.submit(_build_in_worker, batch))
        while len(self.out) >= self.limit:
            self.accept(self.out.popleft().result())

    def drain(self) -> None:
        while self.out:
            self.accept(self.out.popleft().result())

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
