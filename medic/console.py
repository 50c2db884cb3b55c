"""`medic`, the console script: starts Medic's processes and gathers the CLI door.

This is the one place that wires every part together (the API app with its Slack and
MCP routes, workers, the scheduler, Socket Mode, stdio MCP), so no door imports another.
Server-side commands (`up`, `api`, `migrate`, `backup`, `keys`) use the database directly;
operator commands (`service`, `heartbeat`, `health`, …) live in medic.cli and talk to
a running Medic over HTTP with `MEDIC_URL` and `MEDIC_API_KEY`, like any API client.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from medic.cli.settings import configure_logging, settings_or_exit
from medic.config import Settings
from medic.garbage_collection import tune_for_serving
from medic.hardening import uvicorn_log_config


def _operator_commands() -> dict[str, click.Command]:
    """The commands that talk to a running Medic (`medic service`, `keys`, …), imported
    by the first one used, or by --help: a server process (`medic api`'s supervisor and
    each of its workers, which imports this module again, `medic up`, `worker`,
    `scheduler`) never needs them or all they import (about 40 MB)."""
    from medic.cli.agents import agent
    from medic.cli.alerts import alert, notifications
    from medic.cli.audit import audit
    from medic.cli.exec_command import exec_command
    from medic.cli.history import history
    from medic.cli.keys import keys
    from medic.cli.maintenance import maintenance
    from medic.cli.playbooks import playbook
    from medic.cli.remote import health, heartbeat, service
    from medic.cli.routing import hours, routing
    from medic.cli.secrets import secret
    from medic.cli.targets import target
    from medic.cli.teams import team

    commands = [keys, maintenance, service, heartbeat, health, team, target, routing, hours]
    commands += [alert, notifications, secret, audit, playbook, exec_command, history]
    commands += [agent]
    return {command.name: command for command in commands if command.name}


class _MedicGroup(click.Group):
    """Adds the operator commands when one is asked for, by name or by listing; the
    server commands below are always there."""

    def _load(self) -> None:
        for name, command in _operator_commands().items():
            self.commands.setdefault(name, command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "exec" and cmd_name not in self.commands:
            # A job wrapper starts with every cron run: it needs only the client.
            from medic.cli.exec_command import exec_command

            self.commands[cmd_name] = exec_command
        if cmd_name not in self.commands:
            self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_MedicGroup)
@click.version_option(package_name="medic")
def cli() -> None:
    """Medic: heartbeat monitoring, alerts and approval-gated remediation."""


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest version."""
    from medic.db import Database
    from medic.migrate import upgrade

    settings = settings_or_exit()
    configure_logging(settings)
    database = Database(settings)
    upgrade(database.engine)
    database.dispose()
    click.echo(f"database is up to date ({database.dialect})")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH (and PATH.secrets-key) if they exist.")
@click.option(
    "--without-key",
    is_flag=True,
    help="Do not copy the secrets key file beside the database to PATH.secrets-key.",
)
def backup(path: Path, force: bool, without_key: bool) -> None:
    """Copy the embedded SQLite database to PATH, consistently, while Medic runs (mode
    0600), with its secrets key file as PATH.secrets-key. PostgreSQL: use pg_dump."""
    from medic.backup import BackupFailed, BackupRefused
    from medic.backup import backup as make_backup

    settings = settings_or_exit()
    try:
        result = make_backup(settings, path, force=force, with_key=not without_key)
    except BackupRefused as exc:
        click.echo(f"medic backup: {exc}", err=True)
        sys.exit(2)
    except BackupFailed as exc:
        click.echo(f"medic backup: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"{result.path}: {result.size_bytes:,} bytes, integrity ok, "
        f"schema revision {result.schema_revision or 'none (never migrated)'}"
    )
    if result.key_copy is not None:
        click.echo(
            f"{result.key_copy}: the secrets key (mode 0600). Keep it secret, and store it "
            "apart from the database copy when either leaves this machine."
        )
    elif result.key_file is not None:
        click.echo(
            f"WARNING: the secrets key was NOT copied (--without-key). Without {result.key_file} "
            "the playbook secrets in this backup cannot be opened: back it up separately.",
            err=True,
        )
    elif settings.medic_secrets_key:
        click.echo(
            "Playbook secrets are sealed with MEDIC_SECRETS_KEY, which is not in this backup: "
            "keep a copy of it, secret and apart from the database's copies.",
            err=True,
        )


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default HOST or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default PORT or 8080).")
def up(host: str | None, port: int | None) -> None:
    """Everything in one process on the embedded default (SQLite unless DATABASE_URL is set):
    migrate, create a first admin key if there is none (printed once), and serve."""
    import uvicorn

    from medic.app import create_app
    from medic.background_work import BackgroundWork
    from medic.migrate import upgrade
    from medic.ops import keys as key_ops
    from medic.ops.actor import cli_operator
    from medic.process import MedicProcess

    settings = settings_or_exit()
    configure_logging(settings)
    key_file = _embedded_secrets_key(settings)
    medic = MedicProcess(settings)
    upgrade(medic.db.engine)
    if key_ops.count_keys(medic.db) == 0:
        first = key_ops.CreateKey.of(name="admin", scopes=["admin"])
        issued = key_ops.create_key(medic.context(cli_operator("medic up")), first)
        click.echo("\nA first admin API key was created. It is shown only now; store it:\n")
        click.echo(f"    {issued.key}\n")
        address = f"http://localhost:{port or settings.port}"
        click.echo(f"Open {address}/ in a browser and sign in with it, or try:")
        click.echo(f"    curl -H 'Authorization: Bearer {issued.key}' {address}/v2/services\n")
    click.echo(
        f"Medic is using {settings.sqlalchemy_url.split('://')[0]} at "
        f"{settings.medic_sqlite_path if settings.is_sqlite else 'DATABASE_URL'}"
    )
    if key_file is not None:
        click.echo(f"Playbook secrets are sealed with the key in {key_file} (keep it safe)")
    background = BackgroundWork(settings, medic.db)
    app = create_app(medic=medic)
    tune_for_serving()
    background.start()
    try:
        uvicorn.run(
            app,
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            log_config=uvicorn_log_config(uvicorn.config.LOGGING_CONFIG),
            access_log=settings.debug,
        )
    finally:
        background.stop()


def _embedded_secrets_key(settings: Settings) -> Path | None:
    """The embedded default seals secrets with a key file beside its SQLite database
    (medic.secrets_key_file) unless MEDIC_SECRETS_KEY is set; a bad file stops start-up."""
    from medic.config import ConfigError
    from medic.secrets_key_file import use_embedded_key

    try:
        return use_embedded_key(settings)
    except (ConfigError, OSError) as exc:
        click.echo(f"medic: configuration error: {exc}", err=True)
        sys.exit(2)


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default HOST or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default PORT or 8080).")
@click.option("--workers", type=int, default=1, show_default=True, help="uvicorn worker processes.")
def api(host: str | None, port: int | None, workers: int) -> None:
    """Serve the HTTP API (production: run `medic migrate` first)."""
    import uvicorn

    # With several workers, uvicorn starts each one (and restarts a dead one) as a fresh
    # interpreter that reads the settings from this environment: the supervisor keeps
    # it, and each worker drops the secrets itself once read (medic.app.create_app).
    settings = settings_or_exit(keep_environment=workers > 1)
    configure_logging(settings)
    options: dict[str, Any] = {
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": workers,
        "log_level": settings.log_level.lower(),
        "log_config": uvicorn_log_config(uvicorn.config.LOGGING_CONFIG),
        "access_log": settings.debug,
    }
    if workers > 1:
        from medic.web.workers import run_workers

        run_workers(uvicorn.Config("medic.app:create_app", **options))
    else:
        uvicorn.run("medic.app:create_app", **options)


def _run_background(worker: bool, scheduler: bool, name: str) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly (in-flight messages finish)."""
    import signal
    import threading

    from medic.actors.broker import broker_kind
    from medic.background_work import BackgroundWork
    from medic.db import Database

    settings = settings_or_exit()
    configure_logging(settings)
    if broker_kind(settings) == "in-process":
        click.echo(
            f"medic {name}: REDIS_URL must name a shared Redis or RabbitMQ broker "
            "(`medic up` runs workers and the scheduler in its own process)",
            err=True,
        )
        sys.exit(2)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    # A worker alone retries what a dead connection fails (medic.db.make_engine).
    database = Database(settings, pre_ping=scheduler or not worker)
    background = BackgroundWork(settings, database, worker=worker, scheduler=scheduler)
    tune_for_serving()
    background.start()
    if settings.medic_metrics_port is not None:
        # Deliveries, playbooks and scheduler passes are counted here, not in the API.
        from prometheus_client import start_http_server

        start_http_server(settings.medic_metrics_port, addr=settings.host)
        click.echo(f"medic {name}: metrics on {settings.host}:{settings.medic_metrics_port}")
    click.echo(f"medic {name} running ({broker_kind(settings)} broker); Ctrl-C to stop")
    stopping.wait()
    background.stop()
    database.dispose()


@cli.command()
def worker() -> None:
    """Run Dramatiq workers (notifications, housekeeping); MEDIC_WORKER_THREADS threads."""
    _run_background(worker=True, scheduler=False, name="worker")


@cli.command()
def scheduler() -> None:
    """Run the detection scheduler; any number may run against one database."""
    _run_background(worker=False, scheduler=True, name="scheduler")


@cli.command("mcp")
def mcp() -> None:
    """Serve MCP over stdio for an AI assistant, as the key in MEDIC_API_KEY: from the
    database, or relayed to the Medic at MEDIC_URL when that is set."""
    from medic.mcp_server.errors import StartupError
    from medic.mcp_server.stdio import serve

    try:
        serve(os.environ, settings_or_exit)
    except StartupError as exc:
        click.echo(f"medic mcp: {exc}", err=True)
        sys.exit(2)


@click.group()
def slack() -> None:
    """The Slack bot."""


@slack.command()
def socket() -> None:
    """Serve /medic and the alert buttons over Socket Mode (needs SLACK_APP_TOKEN and
    SLACK_BOT_TOKEN); for a Medic that Slack cannot reach over HTTP. Ctrl-C stops it."""
    import asyncio

    from medic.bot.socket_mode import run_socket_mode
    from medic.process import MedicProcess

    settings = settings_or_exit()
    configure_logging(settings)
    if not settings.slack_app_token:
        click.echo("medic slack socket: set SLACK_APP_TOKEN (an xapp-… app-level token)", err=True)
        sys.exit(2)
    if not settings.slack_api_token:
        click.echo("medic slack socket: set SLACK_BOT_TOKEN (the xoxb-… bot token)", err=True)
        sys.exit(2)
    medic = MedicProcess(settings)
    click.echo("medic slack: connecting to Slack in Socket Mode; Ctrl-C to stop")
    try:
        asyncio.run(run_socket_mode(medic))
    except KeyboardInterrupt:
        pass
    finally:
        medic.db.dispose()


cli.add_command(slack)


def main() -> None:
    cli()
