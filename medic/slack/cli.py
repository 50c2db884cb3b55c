"""`medic slack …`: run the Slack bot without the HTTP API (Socket Mode)."""

from __future__ import annotations

import asyncio
import sys

import click


@click.group()
def slack() -> None:
    """The Slack bot."""


@slack.command()
def socket() -> None:
    """Serve /medic and the alert buttons over Socket Mode (needs SLACK_APP_TOKEN and
    SLACK_BOT_TOKEN); for a Medic that Slack cannot reach over HTTP. Ctrl-C stops it."""
    from medic.cli.main import configure_logging, settings_or_exit
    from medic.runtime import Medic
    from medic.slack.socket_mode import run_socket_mode

    settings = settings_or_exit()
    configure_logging(settings)
    if not settings.slack_app_token:
        click.echo("medic slack socket: set SLACK_APP_TOKEN (an xapp-… app-level token)", err=True)
        sys.exit(2)
    if not settings.slack_api_token:
        click.echo("medic slack socket: set SLACK_BOT_TOKEN (the xoxb-… bot token)", err=True)
        sys.exit(2)
    medic = Medic(settings)
    click.echo("medic slack: connecting to Slack in Socket Mode; Ctrl-C to stop")
    try:
        asyncio.run(run_socket_mode(medic))
    except KeyboardInterrupt:
        pass
    finally:
        medic.db.dispose()
