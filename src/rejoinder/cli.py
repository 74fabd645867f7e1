"""The `rejoinder` command: serve, migrate, sites, tokens, export, moderation tools."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from rejoinder.cli_common import ConfigOpt, err
from rejoinder.cli_common import settings_or_exit as _settings
from rejoinder.config import Settings
from rejoinder.domain.errors import DomainError
from rejoinder.domain.sites import Role

app = typer.Typer(help="Rejoinder: a self-hosted comment engine.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
site_app = typer.Typer(help="Manage sites.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(site_app, name="site")
app.add_typer(token_app, name="token")


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from rejoinder.app import build_services
    from rejoinder.moderation.backends.null import NullClassifier
    from rejoinder.storage.engine import Database, migrate

    migrate(settings.resolved_database_url)
    # Admin commands don't score comments: no need to load the models.
    return build_services(settings, Database(settings.resolved_database_url, pool_size=1),
                          NullClassifier())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (use Redis beyond 1).")] = 1,
    config: ConfigOpt = None,
    moderation_only: Annotated[bool, typer.Option(
        "--moderation-only", help="Serve only the Perspective-compatible moderation API.")] = False,
) -> None:
    """Run the server (API, embed script, demo page at /demo)."""
    import uvicorn

    from rejoinder.storage.engine import migrate

    settings = _settings(config)
    if "public_url" not in settings.model_fields_set:
        # Not configured: readers reach this server where it listens. The demo site's allowed
        # origin, the embed snippet and mail links then match `--port` (they all said :8000).
        url = _listen_url(host, port)
        os.environ["REJOINDER_PUBLIC_URL"] = url  # for worker processes too
        settings = settings.model_copy(update={"public_url": url})
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    migrate(settings.resolved_database_url)  # once, before any worker starts
    os.environ["REJOINDER_WORKERS"] = str(workers)
    if config is not None:  # worker processes build their settings from the environment
        os.environ["REJOINDER_CONFIG_FILE"] = str(config)
    if workers > 1 and not settings.redis_url:
        err.print("[yellow]warning:[/yellow] several workers without REJOINDER_REDIS_URL: "
                  "thread page caching is off and live events reach only one worker's readers")
    from rejoinder.web.server import CorkedHttpToolsProtocol

    common: dict[str, Any] = {"host": host, "port": port, "log_level": settings.log_level, "access_log": False,
              "proxy_headers": False, "timeout_graceful_shutdown": 5,
              "http": CorkedHttpToolsProtocol}  # one write per response: web/server.py
    if moderation_only:  # issue 9: /v1alpha1/comments:analyze, /healthz, /metrics only
        os.environ["REJOINDER_MODERATION_ONLY"] = "1"
    if workers > 1:
        uvicorn.run("rejoinder.app:app_from_env", factory=True, workers=workers, **common)
    else:
        from rejoinder.app import serving_app

        uvicorn.run(serving_app(settings, moderation_only=moderation_only), **common)


def _listen_url(host: str, port: int) -> str:
    # Listening on every interface: a browser here reaches it as 127.0.0.1.
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@app.command("migrate")
def migrate_cmd(config: ConfigOpt = None) -> None:
    """Create or upgrade the database schema."""
    from rejoinder.storage.engine import migrate

    settings = _settings(config)
    migrate(settings.resolved_database_url)
    err.print("database is at the newest schema")


@site_app.command("create")
def site_create(
    slug: Annotated[str, typer.Argument(help="Short name, e.g. `dailynews`.")],
    origin: Annotated[list[str], typer.Option(help="Origin allowed to embed, e.g. "
                                              "https://news.example.org (repeatable).")],
    more_origins: Annotated[list[str] | None, typer.Argument(
        help="More origins: `--origin A B C` reads as A, B and C.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a site whose pages may embed comments."""
    from rejoinder.services.sites import create_site

    services = _services(_settings(config))
    try:
        site = create_site(services, slug, [*origin, *(more_origins or [])], name)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    typer.echo(f"created site {site.slug} for {', '.join(site.origins)}")


@site_app.command("set")
def site_set(
    slug: Annotated[str, typer.Argument(help="The site.")],
    pairs: Annotated[list[str], typer.Argument(help="KEY=VALUE settings; VALUE is JSON if it "
                                               "parses (10, true, [\"a\"]), else text.")],
    config: ConfigOpt = None,
) -> None:
    """Change site settings (docs/configuration.md lists them), e.g. `flood_max=10`."""
    import json

    updates: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            err.print(f"[red]error:[/red] {pair!r} is not KEY=VALUE")
            raise typer.Exit(2)
        try:
            updates[key] = json.loads(value)
        except ValueError:
            updates[key] = value
    from rejoinder.storage.epoch import bump_in

    settings = _settings(config)
    services = _services(settings)
    with services.uow.write() as store:
        site = store.site_by_slug(slug)
        if site is None:
            err.print(f"[red]error:[/red] no site {slug!r}")
            raise typer.Exit(1)
        store.update_site(site.id, settings={**site.raw_settings, **updates})
        # Cached pages embed site settings: running servers drop them (storage/epoch.py).
        bump_in(store.conn)
    typer.echo(f"updated {', '.join(sorted(updates))} on {slug}")


@site_app.command("sso-secret")
def site_sso_secret(
    slug: Annotated[str, typer.Argument(help="The site.")],
    config: ConfigOpt = None,
) -> None:
    """Create (or replace) the site's single sign-on secret and print it once."""
    import secrets

    services = _services(_settings(config))
    secret = secrets.token_urlsafe(32)
    with services.uow.write() as store:
        site = store.site_by_slug(slug)
        if site is None:
            err.print(f"[red]error:[/red] no site {slug!r}")
            raise typer.Exit(1)
        store.update_site(site.id, settings={**site.raw_settings, "sso_secret": secret})
    typer.echo(secret)


@site_app.command("list")
def site_list(config: ConfigOpt = None) -> None:
    """List sites and their origins."""
    from rejoinder.services.sites import list_sites

    for site in list_sites(_services(_settings(config))):
        typer.echo(f"{site.slug}\t{site.name}\t{' '.join(site.origins)}")


@token_app.command("create")
def token_create(
    site: Annotated[str, typer.Option(help="The site the token acts on.")],
    role: Annotated[Role, typer.Option(help="moderator or admin.")],
    label: Annotated[str | None, typer.Option(help="A note on whose token this is.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create an API token and print it (it is shown once; only a hash is stored)."""
    from rejoinder.services.sites import create_token

    try:
        token = create_token(_services(_settings(config)), site, role, label)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    typer.echo(token)


@app.command("backup")
def backup_cmd(
    target: Annotated[Path, typer.Argument(help="File to write the backup to.")],
    config: ConfigOpt = None,
) -> None:
    """Back up the whole database while the server runs (SQLite backup API, or pg_dump)."""
    from rejoinder.storage.backup import BackupError, backup

    settings = _settings(config)
    try:
        backup(settings.resolved_database_url, target)
    except (BackupError, OSError) as exc:
        err.print(f"[red]backup failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    err.print(f"backup written to {target}")


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Argument(help="A file made by `rejoinder backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the current database.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Replace the database with a backup (stop the servers first)."""
    from rejoinder.storage.backup import BackupError, restore
    from rejoinder.storage.engine import Database, migrate
    from rejoinder.storage.epoch import bump_epoch, current_epoch

    if not yes:
        err.print("this replaces every comment in the database: add --yes to go ahead")
        raise typer.Exit(2)
    settings = _settings(config)
    url = settings.resolved_database_url
    db = Database(url, pool_size=1)
    try:
        seen = current_epoch(db)
        db.dispose()
        restore(url, source)
        # A backup from an older release is brought to this release's schema, and any server
        # left running drops its cached pages: they show comments the backup does not have.
        migrate(url)
        bump_epoch(db, past=seen)
    except (BackupError, OSError) as exc:
        err.print(f"[red]restore failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    err.print(f"restored from {source}")


@app.command("export")
def export_cmd(
    site: Annotated[str, typer.Option(help="The site to export.")],
    config: ConfigOpt = None,
) -> None:
    """Write every row of a site to standard output as JSON lines (lossless)."""
    from rejoinder.services.sites import export_site

    services = _services(_settings(config))
    out = sys.stdout.buffer
    try:
        for kind, row in export_site(services, site):
            out.write(orjson.dumps({"type": kind, "data": row}, option=orjson.OPT_UTC_Z))
            out.write(b"\n")
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    out.flush()


def _mount_moderation() -> None:
    from rejoinder.moderation.cli import app as moderate_app

    app.add_typer(moderate_app, name="moderate", help="Classify, evaluate and rescore comments.")


try:  # noqa: SIM105  # the moderation CLI lands in a separate change; mount it when present
    _mount_moderation()
except ImportError:
    pass


def _mount_import() -> None:
    from rejoinder.importers.cli import app as import_app

    app.add_typer(import_app, name="import",
                  help="Import comments from Disqus, WordPress, Isso or a Rejoinder export.")


_mount_import()


def _mount_outbox() -> None:
    from rejoinder.notifications.cli import app as outbox_app

    app.add_typer(outbox_app, name="outbox", help="Notification mail and webhooks: status, flush.")


_mount_outbox()


def _mount_perspective() -> None:
    from rejoinder.perspective.cli import app as perspective_app

    app.add_typer(perspective_app, name="perspective",
                  help="Perspective-compatible API (issue 9): keys and moderator feedback.")


_mount_perspective()


def main() -> None:
    app()
