"""The common import pipeline: records from a reader → rows → one transaction (issue 5).

Everything happens in one transaction on the writer engine: a malformed file, a database error
or Ctrl-C rolls the whole import back, and `--dry-run` runs it all and rolls back on purpose (so
its summary is exact, including what an earlier run imported already). Idempotency comes from
`comments.source_key` (`disqus:<dsq:id>`, unique per site): a re-run adds only what is new.
"""

from __future__ import annotations

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
    SourceComment,
    SourceThread,
    clean_body_text,
    clean_email,
    clean_text_line,
    html_to_text,
    images_as_links,
)
from rejoinder.markup import render_comment_html, sanitize_html
from rejoinder.services.ports import Classifier
from rejoinder.storage.bulk import CommentStager
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

    def review(self, rows: list[dict[str, Any]]) -> int:
        """Set status and verdict on each row; return how many the policy did not publish."""
        try:
            all_scores: list[Any] = list(self.classifier.score([r["body_md"] for r in rows]))
            decisions = [self.policy.decide(s) for s in all_scores]
        except Exception as exc:  # Fail closed: unscored comments wait in the queue (ADR 0004)
            all_scores = [None] * len(rows)
            decisions = [fail_closed(type(exc).__name__)] * len(rows)
        held = 0
        for row, scores, decision in zip(rows, all_scores, decisions, strict=True):
            row["moderation"] = {
                "backend": self.classifier.name,
                "version": self.classifier.version,
                "scores": scores.as_dict() if scores is not None else None,
                "action": decision.action.value,
                "reasons": list(decision.reasons),
                "source": "import",
            }
            if decision.action is Action.HOLD:
                row["status"] = CommentStatus.PENDING.value
            elif decision.action is Action.REJECT:
                row["status"] = CommentStatus.REJECTED.value
            held += decision.action is not Action.PUBLISH
        return held


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
        self.stager = CommentStager(conn, site.id, batch_size=options.batch_size)
        self.source = source
        self.options = options
        self.summary = summary
        self.hash_ip = hash_ip
        self.now = now
        self.reviewer = reviewer
        self.progress = progress
        self.prefix = source.system + ":"
        self.known: dict[str, SourceThread] = {}  # source thread ref → record, created lazily
        self.thread_ids: dict[str, int] = {}
        self.excluded: dict[str, str] = {}  # source thread ref → why its comments are skipped
        self.to_review: list[dict[str, Any]] = []
        self.spill: IO[bytes] | None = None

    def all(self) -> None:
        summary = self.summary
        for record in self.source.records():
            if isinstance(record, SourceComment):
                summary.read += 1
                self.comment(record, final=False)
                if self.progress and not summary.read % 1000:
                    self.progress(self.source.position, summary.read)
            elif isinstance(record, SourceThread):
                self.thread(record)
            elif isinstance(record, Skipped):
                summary.skipped[record.reason] += 1
        for early in self._spilled():
            self.comment(early, final=True)
        self._review()
        stats = self.stager.finish()
        summary.comments = stats.inserted
        summary.orphans = stats.orphans
        if stats.existing:
            summary.skipped["already imported"] += stats.existing
        if stats.duplicates:
            summary.skipped["duplicate ids in the file"] += stats.duplicates
        summary.threads = len(set(self.thread_ids.values()))
        summary.threads_created = self.stager.threads_created
        if self.progress:
            self.progress(self.source.position, summary.read)

    def thread(self, record: SourceThread) -> None:
        if self.options.forums and (record.forum or "") not in self.options.forums:
            self.excluded[record.ref] = "of other forums"
        elif record.deleted:
            self.excluded[record.ref] = "of deleted threads"
        else:
            self.known[record.ref] = record

    def comment(self, c: SourceComment, *, final: bool) -> None:
        ref = c.thread_ref
        if ref in self.excluded:
            self.summary.skipped[f"comments {self.excluded[ref]}"] += 1
            return
        thread_id = self.thread_ids.get(ref)
        if thread_id is None:
            record = self.known.get(ref)
            if record is None:
                if final:
                    self.summary.skipped["comments of unknown threads"] += 1
                else:
                    self._spill(c)
                return
            thread_id = self.thread_ids[ref] = self._create_thread(record)
        row = self.row(c, thread_id)
        if row is None:
            return
        if self.reviewer and row["status"] == CommentStatus.PUBLISHED.value:
            self.to_review.append(row)
            if len(self.to_review) >= 64:
                self._review()
        else:
            self.stager.add(row)

    def row(self, c: SourceComment, thread_id: int) -> dict[str, Any] | None:
        deleted = c.status is CommentStatus.DELETED
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
            self.summary.skipped["empty comments"] += 1
            return None
        up, down = max(c.upvotes, 0), max(c.downvotes, 0)
        return {
            "source_key": self.prefix + c.ref,
            "parent_key": self.prefix + c.parent_ref if c.parent_ref else None,
            "thread_id": thread_id,
            "status": c.status.value,
            "body_md": body_md,
            "body_html": body_html,
            "author_name": clean_text_line(c.author_name, 100),
            "author_email": clean_email(c.author_email),
            "is_guest": True,
            "ip_hash": self.hash_ip(c.ip.strip()) if c.ip and c.ip.strip() else None,
            "moderation": None,
            "score": up - down,
            "upvotes": up,
            "downvotes": down,
            "created_at": c.created_at,
            "edited_at": c.edited_at,
        }

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
            self.summary.held += self.reviewer.review(self.to_review)
            for row in self.to_review:
                self.stager.add(row)
        self.to_review = []

    # Posts that name a thread not seen yet wait on disk (memory stays flat), then are replayed.
    def _spill(self, c: SourceComment) -> None:
        if self.spill is None:
            self.spill = tempfile.TemporaryFile(prefix="rejoinder-import-")  # noqa: SIM115
        pickle.dump(c, self.spill, protocol=pickle.HIGHEST_PROTOCOL)

    def _spilled(self) -> Iterator[SourceComment]:
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
