"""What the `rejoinder` command and its sub-command modules share: the --config option, the error
console and loading settings with a clear exit on a bad configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rejoinder.config import Settings, load_settings

err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML file with settings (keys as in REJOINDER_*).")
]


def settings_or_exit(config: Path | None) -> Settings:
    """The settings, or exit 2 with the reason: a bad setting is the user's to fix, not a crash."""
    try:
        return load_settings(config)
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
