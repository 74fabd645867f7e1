"""`rejoinder perspective ...`: API keys of the Perspective-compatible service, and feedback."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from rejoinder.cli_common import ConfigOpt, settings_or_exit
from rejoinder.storage.engine import Database, migrate
from rejoinder.storage.perspective import PerspectiveStore

app = typer.Typer(help="Perspective-compatible API: keys and moderator feedback.",
                  no_args_is_help=True)
key_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
feedback_app = typer.Typer(help="Moderator verdicts sent back by Coral and others.",
                           no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(feedback_app, name="feedback")



def _store(config: Path | None) -> PerspectiveStore:
    settings = settings_or_exit(config)
    migrate(settings.resolved_database_url)
    return PerspectiveStore(Database(settings.resolved_database_url, pool_size=1))


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Argument(help="Who uses the key, e.g. `coral-dailynews`.")],
    qps: Annotated[int, typer.Option(min=1, help="Requests per second before 429.")] = 10,
    daily: Annotated[int, typer.Option(min=0, help="Requests per day before 429 (0: no limit)."
                                       )] = 100_000,
    config: ConfigOpt = None,
) -> None:
    """Create a key; it is printed once (only its hash is stored)."""
    if not name.strip() or len(name) > 100:
        typer.echo("error: the name must be 1 to 100 characters", err=True)
        raise typer.Exit(2)
    try:
        plain, _ = _store(config).create_key(name.strip(), qps=qps, daily_quota=daily,
                                             now=datetime.now(UTC))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(plain)


@key_app.command("list")
def key_list(config: ConfigOpt = None) -> None:
    """List keys with their quotas (never the keys themselves)."""
    for k in _store(config).list_keys():
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        daily = k.daily_quota or "unlimited"
        typer.echo(f"{k.name}\t{k.qps}/s\t{daily}/day\t{state}\tcreated {k.created_at:%Y-%m-%d}")


@key_app.command("revoke")
def key_revoke(name: Annotated[str, typer.Argument(help="The key's name.")],
               config: ConfigOpt = None) -> None:
    """Revoke a key (servers stop accepting it within 5 seconds)."""
    if not _store(config).revoke_key(name, datetime.now(UTC)):
        typer.echo(f"error: no active key named {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {name}")


@feedback_app.command("export")
def feedback_export(
    key: Annotated[str | None, typer.Option(help="Only this key's feedback.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write verdicts as JSON lines for retraining: {"id", "text", "toxic", "attributes", ...}."""
    out = sys.stdout.buffer
    for f in _store(config).feedback(key):
        out.write(orjson.dumps({
            "id": f"{f.key_name}:{f.client_token}", "text": f.text, "toxic": f.toxic,
            "attributes": f.attributes, "community": f.community_id,
            "languages": f.languages, "updated_at": f.updated_at.isoformat(),
        }))
        out.write(b"\n")
    out.flush()
