"""The common import pipeline: records from a reader → rows → one transaction (issue 5).

Everything happens in one transaction on the writer engine: a malformed file, a database error
or Ctrl-C rolls the whole import back, and `--dry-run` runs it all and rolls back on purpose (so
its summary is exact, including what an earlier run imported already). Idempotency comes from
`comments.source_key` (`disqus:<dsq:id>`, unique per site): a re-run adds only what is new.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Connection

from rejoinder.domain.comments import CommentStatus
from rejoinder.domain.moderation import Action, ModerationPolicy, fail_closed
from rejoinder.domain.sites import Site
from rejoinder.importers.records import (
    ImportFailed,
    KeyMap,
    Skipped,
    Source,
    SourceThread,
    clean_text_line,
)
from rejoinder.importers.workers import (
    COMMENTS,
    ROWS,
    Producer,
    Row,
    RowBuilder,
    comment_from,
)
from rejoinder.services.ports import Classifier
from rejoinder.storage.bulk import CommentStager, StagedComment
from rejoinder.storage.engine import Database
from rejoinder.storage.repositories import SqlStore

Progress = Callable[[int, int], None]  # (position in the source, comments read)


@dataclass(frozen=True)
class ImportOptions:
    keys: KeyMap = field(default_factory=KeyMap)
    key_from: str = "url"  # "url" or "identifier" (Disqus's own thread identifier)
    forums: frozenset[str] = frozenset()  # Disqus: only threads of these forums; empty: all
    dry_run: bool = False
    batch_size: int = 2000
    # Processes that turn records into rows (sanitising is most of an import's CPU) while this
    # one parses and writes. None: one when there is a second CPU, else none (all in-process).
    workers: int | None = None

    def worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        return 1 if (os.cpu_count() or 1) >= 2 else 0


@dataclass
class SiteSpec:
    """Create the site inside the import's transaction when it does not exist (`--create-site`)."""

    origins: list[str]
    name: str | None = None


@dataclass
class Summary:
    system: str
    site: str
    dry_run: bool = False
    threads: int = 0  # threads that received comments
    threads_created: int = 0
    comments: dict[str, int] = field(default_factory=dict)  # inserted, by status
    skipped: Counter[str] = field(default_factory=Counter)
    orphans: int = 0
    held: int = 0  # published in the source, held or rejected by --moderate
    read: int = 0
    seconds: float = 0.0

    @property
    def inserted(self) -> int:
        return sum(self.comments.values())

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(self.comments.items())) or "none"
        out = [
            f"{verb} from {self.system} into site {self.site!r}"
            + (" (dry run: nothing was written)" if self.dry_run else ""),
            f"threads: {self.threads} ({self.threads_created} new)",
            f"comments: {self.inserted} ({by_status})",
        ]
        if self.skipped:
            out.append("skipped: " + ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())))
        if self.orphans:
            out.append(f"replies whose parent is missing, kept as top-level: {self.orphans}")
        if self.held:
            out.append(f"held or rejected by moderation: {self.held}")
        rate = self.read / self.seconds if self.seconds else 0.0
        out.append(f"took {self.seconds:.1f} s ({rate:,.0f} comments/s)")
        return out


class Reviewer:
    """`--moderate`: score published imports with the classifier and apply the site's policy."""

    def __init__(self, classifier: Classifier, policy: ModerationPolicy) -> None:
        self.classifier = classifier
        self.policy = policy

    def review(self, rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], int]:
        """Rows (`StagedComment`'s order) with status and verdict set, and how many the policy
        did not publish."""
        try:
            all_scores: list[Any] = list(self.classifier.score([r[_BODY_MD] for r in rows]))
            decisions = [self.policy.decide(s) for s in all_scores]
        except Exception as exc:  # Fail closed: unscored comments wait in the queue (ADR 0004)
            all_scores = [None] * len(rows)
            decisions = [fail_closed(type(exc).__name__)] * len(rows)
        held = 0
        out = []
        for row, scores, decision in zip(rows, all_scores, decisions, strict=True):
            verdict = json.dumps({
                "backend": self.classifier.name,
                "version": self.classifier.version,
                "scores": scores.as_dict() if scores is not None else None,
                "action": decision.action.value,
                "reasons": list(decision.reasons),
                "source": "import",
            })
            status = row[_STATUS]
            if decision.action is Action.HOLD:
                status = CommentStatus.PENDING.value
            elif decision.action is Action.REJECT:
                status = CommentStatus.REJECTED.value
            held += decision.action is not Action.PUBLISH
            out.append(tuple(StagedComment._make(row)._replace(status=status, moderation=verdict)))
        return out, held


_STATUS = StagedComment._fields.index("status")
_BODY_MD = StagedComment._fields.index("body_md")
_THREAD = StagedComment._fields.index("thread")


def run_import(
    db: Database,
    site_slug: str,
    source: Source,
    options: ImportOptions,
    *,
    hash_ip: Callable[[str], str],
    now: datetime,
    create_site: SiteSpec | None = None,
    reviewer: Callable[[Site], Reviewer] | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Import everything `source` yields into one site, in one transaction."""
    started = time.perf_counter()
    summary = Summary(system=source.system, site=site_slug, dry_run=options.dry_run)
    with db.writer.connect() as conn:
        trans = conn.begin()
        try:
            site = _site(conn, site_slug, create_site, now)
            run = _Run(conn, site, source, options, summary, hash_ip, now,
                       reviewer(site) if reviewer else None, progress)
            run.all()
        except BaseException:
            trans.rollback()
            raise
        if options.dry_run:
            trans.rollback()
        else:
            trans.commit()
        if conn.dialect.name == "sqlite":
            # Closed rather than returned to the pool: its temporary tables go with their file
            # at once (`CommentStager.finish` does not drop them page by page).
            conn.invalidate()
    summary.seconds = time.perf_counter() - started
    return summary


def _site(conn: Connection, slug: str, spec: SiteSpec | None, now: datetime) -> Site:
    store = SqlStore(conn)
    site = store.site_by_slug(slug)
    if site is not None:
        return site
    if spec is None:
        raise ImportFailed(
            f"no site {slug!r}: create it first (`rejoinder site create {slug} --origin URL`) "
            "or pass --create-site --origin URL"
        )
    from rejoinder.domain.text import check_slug, clean_url

    check_slug(slug)
    origins = [(clean_url(o, field="origin") or "").rstrip("/") for o in spec.origins]
    return store.create_site(slug, spec.name or slug, [o for o in origins if o], {}, now)


class _Run:
    """One import's state: thread map, spill file for early posts, moderation buffer."""

    def __init__(
        self, conn: Connection, site: Site, source: Source, options: ImportOptions,
        summary: Summary, hash_ip: Callable[[str], str], now: datetime,
        reviewer: Reviewer | None, progress: Progress | None,
    ) -> None:
        self.source = source
        self.options = options
        self.summary = summary
        self.now = now
        self.reviewer = reviewer
        self.progress = progress
        self.prefix = source.system + ":"
        self.known: dict[str, SourceThread] = {}  # source thread ref → record, created lazily
        self.thread_ids: dict[str, int] = {}  # source thread ref → the stager's thread number
        self.excluded: dict[str, str] = {}  # source thread ref → why its comments are skipped
        self.to_review: list[tuple[int, tuple[Any, ...]]] = []
        self.spill: IO[bytes] | None = None
        pg = conn.dialect.name == "postgresql"
        self.builder = RowBuilder(self.prefix, hash_ip, pg=pg)
        # Started before any statement of the import runs: a worker is forked from this process.
        self.producer = Producer(source, self.builder, options.worker_count(),
                                 _MAIN_SHARE_PG if pg else _MAIN_SHARE)
        self.stager = CommentStager(conn, site.id, batch_size=options.batch_size)

    def all(self) -> None:
        try:
            self._all()
        except BaseException:
            self.stager.abort()
            raise
        finally:
            self.producer.close()

    def _all(self) -> None:
        summary = self.summary
        for batch in self.producer.batches():
            kind, items = batch.kind, batch.items
            if kind == ROWS:
                summary.read += len(items)
                self.rows(items, final=False)
            elif kind == COMMENTS:  # our share of the row building
                summary.read += len(items)
                self.rows(self.builder.build_all([comment_from(f) for f in items]), final=False)
            else:
                for record in items:
                    if isinstance(record, SourceThread):
                        self.thread(record)
                    elif isinstance(record, Skipped):
                        summary.skipped[record.reason] += 1
            if self.progress:
                self.progress(batch.position, summary.read)
        for rows in self._spilled():
            self.rows(rows, final=True)
        self._review()
        stats = self.stager.finish()
        summary.comments = stats.inserted
        summary.orphans = stats.orphans
        if stats.existing:
            summary.skipped["already imported"] += stats.existing
        if stats.duplicates:
            summary.skipped["duplicate ids in the file"] += stats.duplicates
        summary.threads = len(set(self.thread_ids.values()))
        summary.threads_created = stats.threads_created
        if self.progress:
            self.progress(self.source.position, summary.read)

    def thread(self, record: SourceThread) -> None:
        if self.options.forums and (record.forum or "") not in self.options.forums:
            self.excluded[record.ref] = "of other forums"
        elif record.deleted:
            self.excluded[record.ref] = "of deleted threads"
        else:
            self.known[record.ref] = record

    def rows(self, rows: list[Row], *, final: bool) -> None:
        """Built rows, in file order: stage them, or queue them for review. A row whose thread
        has not appeared yet waits in the spill file (`final`: it never appeared)."""
        thread_ids = self.thread_ids
        add = self.stager.add_built
        review = self.reviewer is not None
        published = CommentStatus.PUBLISHED.value
        early: list[Row] = []
        for row in rows:
            thread = thread_ids.get(row[_THREAD])
            if thread is None:
                ref = row[_THREAD]
                if ref in self.excluded:
                    self.summary.skipped[f"comments {self.excluded[ref]}"] += 1
                    continue
                record = self.known.get(ref)
                if record is None:
                    if final:
                        self.summary.skipped["comments of unknown threads"] += 1
                    else:
                        early.append(row)
                    continue
                thread = thread_ids[ref] = self._create_thread(record)
            if row[0] is None:  # `EMPTY`: nothing left to show
                self.summary.skipped["empty comments"] += 1
            elif review and row[_STATUS] == published:
                self.to_review.append((thread, row))
                if len(self.to_review) >= 64:
                    self._review()
            else:
                add(thread, row)
        if early:
            self._spill(early)

    def _create_thread(self, record: SourceThread) -> int:
        keys = self.options.keys
        if self.options.key_from == "identifier" and record.identifier:
            key = keys.key(record.identifier)
        else:
            key = keys.key(record.url) or keys.key(record.identifier)
        url = (record.url or "").strip()
        return self.stager.thread(
            key or f"{self.prefix}{record.ref}",
            clean_text_line(record.title, 500),
            url if url.startswith(("http://", "https://")) and len(url) <= 2048 else None,
            record.created_at or self.now,
            record.locked,
        )

    def _review(self) -> None:
        if self.to_review and self.reviewer:
            threads = [t for t, _ in self.to_review]
            reviewed, held = self.reviewer.review([r for _, r in self.to_review])
            self.summary.held += held
            for thread, row in zip(threads, reviewed, strict=True):
                self.stager.add_built(thread, row)
        self.to_review = []

    # Posts that name a thread not seen yet wait on disk (memory stays flat), then are replayed.
    def _spill(self, rows: list[Row]) -> None:
        if self.spill is None:
            self.spill = tempfile.TemporaryFile(prefix="rejoinder-import-")  # noqa: SIM115
        pickle.dump(rows, self.spill, protocol=pickle.HIGHEST_PROTOCOL)

    def _spilled(self) -> Iterator[list[Row]]:
        if self.spill is None:
            return
        with self.spill:
            self.spill.seek(0)
            while True:
                try:
                    # Our own temporary file, written just above: not untrusted input.
                    yield pickle.load(self.spill)  # noqa: S301
                except EOFError:
                    return


# Comment batches the importing process builds itself, of every n: (k, n); the worker reads and
# parses the file and builds the rest (ADR 0016). Measured on 2 CPUs at 1M comments: on SQLite
# the importer also runs every statement, so the worker builds a quarter; on PostgreSQL the
# server does the writing and the worker's parsing is the longest part, so the importer builds
# everything.
_MAIN_SHARE = (3, 4)
_MAIN_SHARE_PG = (1, 1)
