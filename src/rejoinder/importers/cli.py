"""`rejoinder import disqus|wordpress|isso|rejoinder FILE --site SITE` (mounted by rejoinder.cli)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from rejoinder.cli_common import ConfigOpt, err
from rejoinder.cli_common import settings_or_exit as _settings
from rejoinder.config import Settings
from rejoinder.domain.errors import DomainError
from rejoinder.domain.sites import Site
from rejoinder.importers.pipeline import Reviewer
from rejoinder.importers.records import ImportFailed, KeyMap, Source

app = typer.Typer(help="Import comments from Disqus, WordPress, Isso or a Rejoinder export.",
                  no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The export file.", exists=True, dir_okay=False,
                                          readable=True)]
SiteOpt = Annotated[str, typer.Option(help="The site to import into.")]
CreateOpt = Annotated[bool, typer.Option(
    "--create-site", help="Create the site if it does not exist (needs --origin).")]
OriginOpt = Annotated[list[str] | None, typer.Option(
    help="With --create-site: origin allowed to embed (repeatable).")]
KeepDomainOpt = Annotated[bool, typer.Option(
    "--keep-domain", help="Use whole URLs as thread keys (default: the path, without "
    "scheme and host: https://blog.example.org/2020/01/post/ → /2020/01/post/).")]
RewriteOpt = Annotated[list[str] | None, typer.Option(
    "--rewrite-prefix", metavar="OLD=NEW",
    help="Rewrite thread keys starting with OLD to start with NEW (repeatable; first match "
    "wins; applied after the domain is stripped).")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Do the whole import, print the summary, then roll it back.")]
ModerateOpt = Annotated[bool, typer.Option(
    "--moderate", help="Score every published comment with the configured classifier and hold "
    "or reject what the site's policy holds or rejects.")]


def _rewrites(pairs: list[str] | None) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in pairs or ():
        old, sep, new = pair.partition("=")
        if not sep or not old:
            err.print(f"[red]error:[/red] --rewrite-prefix wants OLD=NEW, got {pair!r}")
            raise typer.Exit(2)
        out.append((old, new))
    return tuple(out)


class _Rate(ProgressColumn):
    """Comments per second (the bar itself advances by bytes of the file)."""

    def render(self, task: Task) -> Text:
        comments = int(task.fields.get("comments", 0))
        rate = comments / task.elapsed if task.elapsed else 0.0
        return Text(f"{comments:,} comments, {rate:,.0f}/s", style="progress.data.speed")


@contextmanager
def _progress(source_total: Callable[[], int | None]) -> Iterator[Callable[[int, int], None]]:
    """A Rich bar on stderr when it is a terminal; otherwise a no-op."""
    if not err.is_terminal:
        yield lambda _pos, _n: None
        return
    with Progress(TextColumn("importing"), BarColumn(), TaskProgressColumn(), _Rate(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("import", total=None, comments=0)

        def update(position: int, comments: int) -> None:
            bar.update(task, total=source_total(), completed=position, comments=comments)

        yield update


def _run(
    source: Source, site: str, *, create_site: bool, origin: list[str] | None, keep_domain: bool,
    rewrite_prefix: list[str] | None, dry_run: bool, moderate: bool, config: Path | None,
    key_from: str = "url", forum: list[str] | None = None,
) -> None:
    from rejoinder.importers.pipeline import ImportOptions, SiteSpec, run_import
    from rejoinder.services.context import utcnow
    from rejoinder.storage.engine import Database, migrate
    from rejoinder.storage.epoch import bump_epoch

    settings = _settings(config)
    options = ImportOptions(
        keys=KeyMap(keep_domain=keep_domain, rewrite=_rewrites(rewrite_prefix)),
        key_from=key_from, forums=frozenset(forum or ()), dry_run=dry_run,
    )
    if create_site and not origin:
        err.print("[red]error:[/red] --create-site needs at least one --origin")
        raise typer.Exit(2)
    reviewer: Callable[[Site], Reviewer] | None = None
    if moderate:
        from rejoinder.moderation.registry import load_classifier

        try:
            classifier = load_classifier(settings.moderation_backend)
        except Exception as exc:  # an unknown backend or a model that fails to load
            err.print(f"[red]error:[/red] cannot load the moderation backend: {exc}")
            raise typer.Exit(2) from exc

        def reviewer(site: Site) -> Reviewer:
            return Reviewer(classifier, site.settings.policy())

    migrate(settings.resolved_database_url)
    db = Database(settings.resolved_database_url, pool_size=1)
    hasher = _ip_hasher(settings)
    try:
        with _progress(lambda: source.total) as progress:
            summary = run_import(
                db, site, source, options, hash_ip=hasher, now=utcnow(),
                create_site=SiteSpec(origins=list(origin or ())) if create_site else None,
                reviewer=reviewer, progress=progress,
            )
        if not dry_run:
            bump_epoch(db)  # running servers drop cached pages that lack the imported comments
    except (ImportFailed, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        err.print(f"[red]import failed, nothing was imported:[/red] {message}")
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        err.print(f"[red]import failed, nothing was imported:[/red] database error: "
                  f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    for line in summary.lines():
        typer.echo(line)


def _ip_hasher(settings: Settings) -> Callable[[str], str]:
    """The server's keyed IP hash (`Services.keyed_hash("ip", …)`): imported IPs match bans."""
    from rejoinder.events import LocalEventBus
    from rejoinder.moderation.backends.null import NullClassifier
    from rejoinder.services.context import Services

    services = Services(settings=settings, uow=None,  # type: ignore[arg-type]  # hashing only
                        classifier=NullClassifier(), events=LocalEventBus())
    return lambda ip: services.keyed_hash("ip", ip)


@app.command()
def disqus(
    file: FileArg, site: SiteOpt, create_site: CreateOpt = False, origin: OriginOpt = None,
    keep_domain: KeepDomainOpt = False, rewrite_prefix: RewriteOpt = None,
    key_from: Annotated[str, typer.Option(
        help="Thread key from the thread's `link` (url) or its Disqus `id` (identifier), "
        "falling back to the other.")] = "url",
    forum: Annotated[list[str] | None, typer.Option(
        help="Import only threads of this Disqus forum shortname (repeatable; default: all "
        "forums in the file go into --site).")] = None,
    dry_run: DryRunOpt = False, moderate: ModerateOpt = False, config: ConfigOpt = None,
) -> None:
    """Import a Disqus XML export."""
    from rejoinder.importers.disqus import DisqusSource

    if key_from not in ("url", "identifier"):
        err.print("[red]error:[/red] --key-from is url or identifier")
        raise typer.Exit(2)
    _run(DisqusSource(file), site, create_site=create_site, origin=origin,
         keep_domain=keep_domain, rewrite_prefix=rewrite_prefix, dry_run=dry_run,
         moderate=moderate, config=config, key_from=key_from, forum=forum)


@app.command()
def wordpress(
    file: FileArg, site: SiteOpt, create_site: CreateOpt = False, origin: OriginOpt = None,
    keep_domain: KeepDomainOpt = False, rewrite_prefix: RewriteOpt = None,
    dry_run: DryRunOpt = False, moderate: ModerateOpt = False, config: ConfigOpt = None,
) -> None:
    """Import a WordPress WXR export (Tools → Export), wpDiscuz votes included."""
    from rejoinder.importers.wordpress import WordPressSource

    _run(WordPressSource(file), site, create_site=create_site, origin=origin,
         keep_domain=keep_domain, rewrite_prefix=rewrite_prefix, dry_run=dry_run,
         moderate=moderate, config=config)


@app.command()
def isso(
    file: FileArg, site: SiteOpt, create_site: CreateOpt = False, origin: OriginOpt = None,
    keep_domain: KeepDomainOpt = False, rewrite_prefix: RewriteOpt = None,
    dry_run: DryRunOpt = False, moderate: ModerateOpt = False, config: ConfigOpt = None,
) -> None:
    """Import an Isso SQLite database (comments.db)."""
    from rejoinder.importers.isso import IssoSource

    _run(IssoSource(file), site, create_site=create_site, origin=origin,
         keep_domain=keep_domain, rewrite_prefix=rewrite_prefix, dry_run=dry_run,
         moderate=moderate, config=config)


@app.command("rejoinder")
def rejoinder_cmd(
    file: FileArg,
    site: Annotated[str | None, typer.Option(
        help="Import under this site name (default: the name in the file).")] = None,
    dry_run: DryRunOpt = False, config: ConfigOpt = None,
) -> None:
    """Import a `rejoinder export` file losslessly (ids kept; the site is created from it)."""
    from rejoinder.importers.rejoinder import import_rejoinder
    from rejoinder.storage.engine import Database, migrate

    settings = _settings(config)
    migrate(settings.resolved_database_url)
    db = Database(settings.resolved_database_url, pool_size=1)
    size = file.stat().st_size
    try:
        with _progress(lambda: size) as progress:
            summary = import_rejoinder(db, file, site_slug=site, dry_run=dry_run,
                                       progress=progress)
    except ImportFailed as exc:
        err.print(f"[red]import failed, nothing was imported:[/red] {exc}")
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        err.print(f"[red]import failed, nothing was imported:[/red] database error: "
                  f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    for line in summary.lines():
        typer.echo(line)
