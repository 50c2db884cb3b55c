"""One settings object, read from the environment (names from the runbook, seed 002).

Every process reads its configuration here and nowhere else. A bad value stops
start-up with one line naming the variable and what is wrong
(see `load_settings`), instead of failing later in some request.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter
from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path.home() / ".local" / "share" / "medic" / "medic.db"


class ConfigError(Exception):
    """A setting has a value Medic cannot run with; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    # Database: DATABASE_URL wins; else DB_HOST & co. build a PostgreSQL URL; else SQLite.
    database_url: str | None = None
    db_host: str | None = None
    db_port: int = Field(default=5432, ge=1, le=65535)
    db_name: str = "medic"
    pg_user: str = "medic"
    pg_pass: str = ""
    medic_sqlite_path: Path = DEFAULT_SQLITE_PATH

    # Application
    port: int = Field(default=8080, ge=1, le=65535)
    host: str = "0.0.0.0"
    # Where people and jobs reach Medic (ping URLs, links); default http://localhost:PORT.
    medic_base_url: str = ""
    medic_timezone: str = "America/Chicago"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    debug: bool = False

    # Worker
    worker_interval_seconds: float = Field(default=15, gt=0)
    alert_auto_unmute_hours: float = Field(default=24, gt=0)
    heartbeat_retention_days: int = Field(default=30, ge=1)
    medic_audit_retention_days: int = Field(default=90, ge=1)
    medic_playbook_max_executions_per_hour: int = Field(default=3, ge=1, le=1000)
    medic_approval_expiry_minutes: int = Field(default=60, ge=1, le=10_080)
    # always: a playbook an AI assistant starts over MCP waits for a human, whatever its
    # own approval setting; playbook: MCP follows the playbook's setting like a person.
    medic_mcp_approval: Literal["always", "playbook"] = "always"
    # Approving over MCP: off by default (a human approves in Slack or on the approval
    # page; declining stays allowed). True lets admin keys approve over MCP too.
    medic_mcp_may_approve: bool = False
    medic_retention_schedule: str = Field(
        default="15 3 * * *", description="cron, in MEDIC_TIMEZONE: when retention runs"
    )
    medic_worker_threads: int = Field(default=4, ge=1, le=64)
    medic_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`medic worker` and `medic scheduler` serve /metrics on this port (on HOST)",
    )
    medic_scheduler_batch_size: int = Field(default=1000, ge=1, le=100_000)
    medic_broker_namespace: str = Field(default="medic", min_length=1, max_length=64)

    # Redis and rate limits
    redis_url: str | None = None
    medic_rate_limiter_type: Literal["auto", "redis", "memory"] = "auto"
    redis_pool_size: int = Field(default=10, ge=1)
    medic_rate_limit_heartbeats: int = Field(default=100, ge=1, description="per key, per minute")
    # A person's working session (the README walkthrough, CLI commands, a script over
    # the services) stays well under it; a runaway client does not.
    medic_rate_limit_management: int = Field(default=300, ge=1, description="per key, per minute")
    medic_rate_limit_mcp_tools: int = Field(
        default=120, ge=1, description="MCP tool calls, resource reads, prompts per key, per minute"
    )
    medic_rate_limit_auth_failures: int = Field(
        default=30, ge=1, description="failed authentications per client address, per minute"
    )
    # Prefix of every rate-limit key; unset: the broker namespace and a digest of the
    # database's location, so deployments sharing a Redis never share counters.
    medic_rate_limit_namespace: str | None = Field(default=None, max_length=128)

    # Integrations
    slack_api_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_API_TOKEN", "SLACK_BOT_TOKEN")
    )
    slack_channel_id: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    pagerduty_routing_key: str | None = None
    pagerduty_base_url: str = "https://events.pagerduty.com"
    # APIs of the channels in docs/channels.md; configurable so tests talk to fakes.
    twilio_api_base_url: str = "https://api.twilio.com"
    opsgenie_api_base_url: str = "https://api.opsgenie.com"
    opsgenie_eu_api_base_url: str = "https://api.eu.opsgenie.com"
    telegram_api_base_url: str = "https://api.telegram.org"
    medic_extra_ca_bundle: Path | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "medic@localhost"
    smtp_starttls: bool = True
    medic_notify_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # Slack user ids who may mute, unmute, acknowledge and open maintenance from Slack;
    # empty: everyone in the workspace.
    medic_slack_operators: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Slack user ids who may approve any playbook, besides each team's approvers.
    medic_slack_approvers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Security
    medic_secrets_key: str | None = None
    medic_webhook_secret: str | None = None
    medic_playbook_hook_secret: str | None = None
    medic_allowed_webhook_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    medic_v1_anonymous_heartbeats: bool = False
    medic_key_cache_seconds: float = Field(default=10, ge=0)
    # argon2 verifications at once per process: each takes a key's memory cost (64 MiB
    # by default) and its four lanes keep four cores busy, so two bound the memory to
    # ~128 MiB and already use a small host's CPU. More wait; past 16 waiting per slot,
    # a request gets 429.
    medic_key_verifications: int = Field(default=2, ge=1, le=64)
    medic_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Playbook scripts: only executables in this directory may run (none when unset).
    medic_scripts_dir: Path | None = None
    medic_script_memory_mb: int = Field(default=256, ge=16, le=65_536)
    medic_script_output_bytes: int = Field(default=65_536, ge=1024, le=16_777_216)
    # When Medic runs as root, scripts run as this unprivileged user (a name, or a
    # numeric uid[:gid]), never as root.
    medic_script_user: str = Field(default="nobody", min_length=1, max_length=64)
    # Agents' long polls: how often one process looks for jobs queued for the hosts
    # whose polls are waiting (one query for all of them; medic.api.agent_board).
    medic_agent_recheck_seconds: float = Field(default=1.0, gt=0, le=30)

    # Heartbeat ingest
    medic_ingest_batch_size: int = Field(default=500, ge=1)

    @field_validator("medic_timezone")
    @classmethod
    def _iana_timezone(cls, value: str) -> str:
        return validate_timezone(value)

    @field_validator("medic_allowed_webhook_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.lower() for host in _comma_separated(value)]
        return value

    @field_validator("medic_slack_operators", "medic_slack_approvers", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        return _comma_separated(value) if isinstance(value, str) else value

    @field_validator("medic_secrets_key")
    @classmethod
    def _secrets_key_is_32_bytes(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("must be base64") from exc
        if len(raw) != 32:
            raise ValueError(f"must decode to 32 bytes for AES-256, got {len(raw)}")
        return value

    @field_validator("medic_extra_ca_bundle")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file of PEM certificates")
        return value

    @field_validator("medic_retention_schedule")
    @classmethod
    def _five_field_cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a five-field cron expression")
        return value

    @field_validator("pagerduty_base_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        """The pagerduty client sends only over https: say so at start, not per alert."""
        if not value.lower().startswith("https://"):
            raise ValueError("must be an https:// URL (the PagerDuty client refuses http)")
        return value

    @model_validator(mode="after")
    def _base_url_from_port(self) -> Settings:
        if not self.medic_base_url:
            self.medic_base_url = f"http://localhost:{self.port}"
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_api_base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("medic_script_user")
    @classmethod
    def _unprivileged_script_user(cls, value: str) -> str:
        value = value.strip()
        if value == "root" or value.split(":", 1)[0] == "0":
            raise ValueError("must be an unprivileged user, not root")
        if ":" in value and not re.fullmatch(r"\d+:\d+", value):
            raise ValueError("must be a user name, a uid, or uid:gid in numbers")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        if self.db_host:
            password = f":{quote(self.pg_pass, safe='')}" if self.pg_pass else ""
            return (
                f"postgresql+psycopg://{quote(self.pg_user, safe='')}{password}"
                f"@{self.db_host}:{self.db_port}/{self.db_name}"
            )
        return f"sqlite:///{self.medic_sqlite_path}"

    @property
    def libpq_url(self) -> str:
        """The PostgreSQL URL as psycopg itself takes it (no SQLAlchemy driver suffix)."""
        return self.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def secrets_key_bytes(self) -> bytes | None:
        return base64.b64decode(self.medic_secrets_key) if self.medic_secrets_key else None


def _comma_separated(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def validate_timezone(value: str) -> str:
    """Accept IANA names only: abbreviations like CST are ambiguous and ignore DST."""
    if "/" not in value and value not in {"UTC", "Etc/UTC"}:
        raise ValueError(
            f"{value!r} is not an IANA timezone name; use a name such as 'America/Chicago' or 'UTC'"
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a known IANA timezone") from exc
    if value not in available_timezones() and value != "UTC":
        raise ValueError(f"{value!r} is not a known IANA timezone")
    return value


def normalize_database_url(url: str) -> str:
    """Let operators write plain `postgres://` URLs; Medic always talks psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("postgresql+psycopg://", "sqlite://")):
        raise ValueError("must be a postgresql:// or sqlite:// URL")
    return url


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning the first validation error into a one-line ConfigError."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        if settings.database_url:
            normalize_database_url(settings.database_url)
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {message}") from None
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL: {exc}") from None
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
