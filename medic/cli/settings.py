"""Settings and logging for a command run from a shell: a configuration error is one
line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import logging
import sys

import click

from medic.config import ConfigError, Settings, get_settings


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        click.echo(f"medic: configuration error: {exc}", err=True)
        sys.exit(2)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
