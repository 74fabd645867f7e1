"""Settings, read from `REJOINDER_*` environment variables and optionally a TOML file.

Built once (by the CLI or a test) and passed down; there is no module-level instance.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The value shipped for development only; refused anywhere else (see `_refuse_insecure_defaults`).
DEV_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting of a Rejoinder server; each is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="REJOINDER_", extra="ignore")

    env: Environment = Field(
        Environment.PRODUCTION,
        description="`development` allows insecure defaults (dev secret key); `production` refuses them.",
    )
    data_dir: Path = Field(
        Path("var"), description="Directory for the default SQLite database and other local state."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; `sqlite:///path` or `postgresql://user@host/db`. "
        "Empty means SQLite at DATA_DIR/rejoinder.sqlite3.",
    )
    redis_url: str = Field(
        "",
        description="Optional Redis URL; needed only when several server processes share one database "
        "(cache invalidation, live events and rate limits across processes).",
    )
    smtp_url: str = Field(
        "",
        description="SMTP URL for notification mail: `smtp://[user:pass@]host:port` "
        "(`?starttls=true` to require STARTTLS) or `smtps://` (TLS). Empty: mail is printed to "
        "the console, not sent.",
    )
    mail_from: str = Field(
        "Rejoinder <noreply@localhost>",
        description="The From address of notification mail, e.g. `Daily News <comments@news.example>`.",
    )
    outbox_poll_s: float = Field(
        2.0,
        description="Seconds between the delivery worker's looks at the outbox (mail, webhooks); "
        "0 turns the in-process worker off (then run `rejoinder outbox flush` from cron).",
    )
    webhook_timeout_s: float = Field(
        10.0, description="Time limit for one webhook POST to a publisher; past it, retried later."
    )
    secret_key: str = Field(
        "",
        description="Secret for hashing IP addresses and tokens; required outside development.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The URL readers reach this server at; used for the embed script and links.",
    )
    rate_limits: bool = Field(True, description="`on` (default) or `off` (for benchmarks).")
    rate_limit_post: str = Field(
        "5/minute;60/hour", description="Comment posts allowed per client IP (limits syntax)."
    )
    rate_limit_post_site: str = Field(
        "600/minute", description="Comment posts allowed per site from all clients together."
    )
    rate_limit_vote: str = Field("60/minute", description="Votes and flags allowed per client IP.")
    rate_limit_read: str = Field("1200/minute", description="Read requests allowed per client IP.")
    rate_limit_auth: str = Field(
        "10/minute;100/hour", description="Sign-in and registration attempts per client IP."
    )
    moderation_backend: str = Field(
        "default",
        description="Classifier backend: `default` (the shipped models), `keywords` or `null`.",
    )
    perspective_backend: str = Field(
        "",
        description="Classifier for the Perspective-compatible API (`fast` for high volume); "
        "empty: the same as `REJOINDER_MODERATION_BACKEND`.",
    )
    moderation_timeout_s: float = Field(
        2.0, description="Time budget for scoring one comment; past it the comment is held."
    )
    max_body_bytes: int = Field(65536, description="Largest request body accepted, in bytes.")
    max_comment_chars: int = Field(10000, description="Longest comment body, in characters.")
    edit_window_s: int = Field(
        900, description="Default seconds during which a guest may edit or delete (per site overridable)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Peer addresses whose X-Forwarded-For header is trusted (e.g. the nginx in front).",
    )
    create_demo: bool = Field(
        True, description="Create the `demo` site with its article and comments when no site exists."
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = settings_cls.model_config.get("toml_file") or os.environ.get("REJOINDER_CONFIG_FILE")
        if toml:
            if not Path(str(toml)).is_file():
                # A mistyped --config must not silently run on defaults (another database...).
                raise ValueError(f"config file {toml} does not exist")
            sources.append(_TomlSettings(settings_cls, toml_file=toml))
        return tuple(sources)

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _on_off(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in {"on", "off"}:
            return value.lower() == "on"
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.env is Environment.DEVELOPMENT:
            if not self.secret_key:
                self.secret_key = DEV_SECRET_KEY
            return self
        if not self.secret_key or self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 16:
            raise ValueError(
                "REJOINDER_SECRET_KEY must be set to a random string of at least 16 characters "
                "outside development (or set REJOINDER_ENV=development for a local trial)"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL with the SQLite default filled in and the driver made explicit."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'rejoinder.sqlite3').as_posix()}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url


class _TomlSettings(TomlConfigSettingsSource):
    """The TOML file, with keys as in the environment accepted too: `REJOINDER_PUBLIC_URL = …`
    means `public_url = …` (a file written from the documented variables must not be ignored)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = key.lower()
            out[name.removeprefix("rejoinder_")] = value
        return out


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, an optional TOML file and explicit overrides."""
    if config_file is None:
        return Settings(**overrides)

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config,
                                             "toml_file": str(config_file)})

    return FileSettings(**overrides)
