"""Reading, parsing and row building in a worker process (issue 5, ADR 0012, ADR 0014).

Most of an import's CPU is turning the file into rows: parsing the XML, reading the fields,
sanitising each comment's HTML exactly as a new comment's (nh3, which holds the GIL, so threads
would not help), its plain text, the keyed IP hash. With a second CPU a worker process does all
of that, reading the file itself, and sends finished rows to the importing process, which only
writes them to the database. Batches travel in file order through a pipe: the worker blocks
while the importing process has not taken the previous batch, so at most two batches exist at a
time and memory stays flat. An error in the worker (a malformed file) or its death fails the
import like any other error, and the transaction is rolled back.

The worker is forked before any statement of the import runs (no COPY, no thread of ours); it
touches no connection, lock or file of the importing process, and sees the secret key only as
the forked keyed-hash function.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple

from rejoinder.domain.comments import CommentStatus
from rejoinder.importers.records import (
    ImportFailed,
    Record,
    Source,
    SourceComment,
    clean_body_text,
    clean_email,
    clean_text_line,
    html_to_text,
    images_as_links,
)
from rejoinder.markup import render_comment_html, sanitize_html
from rejoinder.storage.bulk import storage_time

_DELETED = CommentStatus.DELETED
_HASH_CACHE = 65536  # distinct IPs remembered (readers comment many times from one address)


# A row is a plain tuple in `StagedComment`'s order, its thread field the source's thread id (a
# named tuple costs a Python-level `__new__` per row when unpickled); `StagedComment._make(row)`
# names the fields. An empty comment (nothing left after cleaning) is `(None, None, thread)`:
# skipped and counted, once its thread is known (comments of skipped threads count as those).
Row = tuple[Any, ...]


@dataclass
class RowBuilder:
    """The row of one imported comment: cleaned, sanitised, IP hashed. Pure CPU, no I/O."""

    prefix: str  # "disqus:", the source system of `comments.source_key`
    hash_ip: Callable[[str], str]
    pg: bool = False  # timestamps for PostgreSQL (else SQLite)
    _hashes: dict[str, str] = field(default_factory=dict)

    def build(self, c: SourceComment) -> Row:
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
            return (None, None, c.thread_ref)
        up, down = max(c.upvotes, 0), max(c.downvotes, 0)
        pg = self.pg
        return (
            self.prefix + c.ref,
            self.prefix + c.parent_ref if c.parent_ref else None,
            c.thread_ref,
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
            storage_time(c.created_at, pg),
            None if c.edited_at is None else storage_time(c.edited_at, pg),
        )

    def build_all(self, records: list[SourceComment]) -> list[Row]:
        build = self.build
        return [build(c) for c in records]

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


# -- batches -------------------------------------------------------------------------------------
# What the producer hands over, in file order: built rows, comments for the importing process to
# build (its share of the CPU, see `main_share`), or other records (threads, skipped ones).
ROWS, COMMENTS, OTHERS = "rows", "comments", "others"
_FIELDS = attrgetter(*SourceComment.__dataclass_fields__)  # a record as a plain tuple


class Batch(NamedTuple):
    kind: str  # ROWS, COMMENTS or OTHERS
    items: list[Any]  # rows; comments as field tuples (`comment_from`); records
    position: int  # how far through the source the reader was


def comment_from(fields: tuple[Any, ...]) -> SourceComment:
    return SourceComment(*fields)


BATCH = 1000  # comments per batch


def produce(source: Source, builder: RowBuilder, main_share: tuple[int, int] = (0, 1),
            batch: int = BATCH) -> Iterator[Batch]:
    """The source's records in batches, comments built into rows except the importing
    process's share: `(k, n)` sends k of every n comment batches unbuilt."""
    comments: list[SourceComment] = []
    others: list[Record] = []
    k, n = main_share
    sent = 0

    def flush_comments() -> Batch:
        nonlocal comments, sent
        out, comments = comments, []
        sent += 1
        if sent % n < k:
            return Batch(COMMENTS, [_FIELDS(c) for c in out], source.position)
        return Batch(ROWS, builder.build_all(out), source.position)

    for record in source.records():
        if type(record) is SourceComment:
            if others:
                yield Batch(OTHERS, others, source.position)
                others = []
            comments.append(record)
            if len(comments) >= batch:
                yield flush_comments()
        else:
            if comments:
                yield flush_comments()
            others.append(record)
    if comments:
        yield flush_comments()
    if others:
        yield Batch(OTHERS, others, source.position)


class Producer:
    """`produce` in this process (workers 0) or in a forked worker process (workers ≥ 1)."""

    def __init__(self, source: Source, builder: RowBuilder, workers: int,
                 main_share: tuple[int, int] = (0, 1)) -> None:
        self.source = source
        self.builder = builder
        self.main_share = main_share
        self._process: Any = None
        self._conn: Any = None
        if workers > 0:
            # fork: the worker starts warm (modules imported) and gets the keyed hash function
            # and the opened source without pickling; it touches nothing of ours.
            context = multiprocessing.get_context("fork")
            receive, send = context.Pipe(duplex=False)
            self._process = context.Process(
                target=_serve, args=(source, builder, main_share, send, receive),
                name="rejoinder-import-worker", daemon=True,
            )
            self._process.start()
            send.close()
            self._conn = receive

    def batches(self) -> Iterator[Batch]:
        if self._conn is None:
            yield from produce(self.source, self.builder, self.main_share)
            return
        recv = self._conn.recv
        while True:
            try:
                message = recv()
            except EOFError:
                self._process.join(timeout=5)
                raise ImportFailed("the import's worker process died "
                                   f"(exit code {self._process.exitcode})") from None
            if type(message) is Batch:
                yield message
            elif message is None:
                return
            else:
                raise message

    def close(self) -> None:
        """Stop the worker (done, or the import failed: it may be blocked sending)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        process, self._process = self._process, None
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


def _serve(source: Source, builder: RowBuilder, main_share: tuple[int, int],
           send: Any, receive: Any) -> None:
    """The worker: every batch to the pipe, then None; or the error that stopped it."""
    # Ctrl-C is for the importing process: it rolls back and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    receive.close()
    try:
        for batch in produce(source, builder, main_share):
            send.send(batch)
        send.send(None)
    except (BrokenPipeError, ConnectionResetError):
        return  # the importing process stopped reading (it failed, and rolls back)
    except BaseException as exc:  # reported to the importing process
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            send.send(_portable(exc))


def _portable(exc: BaseException) -> BaseException:
    """The error itself when it survives pickling (ImportFailed does), else its description."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301  # our own bytes
    except Exception:
        return ImportFailed(f"the import's worker failed: {type(exc).__name__}: {exc}")
    return exc
