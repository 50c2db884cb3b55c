"""Settings and logging for a command run from a shell: a configuration error is one
line on stderr and exit status 2, never a traceback. Once the settings are read, the
process is hardened (medic.hardening): secrets leave its environment, and it is not
dumpable."""

from __future__ import annotations

import logging
import sys

import click

from medic.config import ConfigError, Settings, get_settings
from medic.hardening import harden_process, quiet_http_loggers


def settings_or_exit(*, keep_environment: bool = False) -> Settings:
    """The settings, then the process hardened. `keep_environment` only for a process
    whose children read the settings from the environment again (uvicorn's supervisor
    of several workers): it stays non-dumpable, and each child drops them itself."""
    try:
        settings = get_settings()
    except ConfigError as exc:
        click.echo(f"medic: configuration error: {exc}", err=True)
        sys.exit(2)
    harden_process(keep_environment=keep_environment)
    return settings


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # httpx logs every request's URL at INFO, secrets in it included.
    quiet_http_loggers()
