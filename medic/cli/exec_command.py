"""`medic exec -- COMMAND ARGS…`: run a job and report it to Medic (start, then success
or failure with the exit code, the duration and the end of its output).

Reporting never changes the job: the start is sent while the command already runs, a
Medic that cannot be reached costs at most `--timeout` seconds per report and a warning
on stderr, and `medic exec` exits with the command's exit code.
"""

from __future__ import annotations

import threading
import time
import uuid

import click

from medic.cli.exec_child import ChildRun, Finished
from medic.client import Client, Job, MonitorConfig, Report, Retry

TAIL_BYTES = 10 * 1024


@click.command(
    "exec",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--name", help="The job's heartbeat name (with MEDIC_URL and MEDIC_API_KEY).")
@click.option("--ping-url", help="Report to this ping URL instead; it needs no key.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds each report to Medic may take, retries included (the command is never"
    " stopped or held for longer).",
)
@click.option("--schedule", help="Create or update the monitor: cron expression or '1h'.")
@click.option("--timezone", help="IANA timezone of --schedule, e.g. Europe/Paris.")
@click.option("--max-runtime", help="Longest a run may take: seconds or '30m', '2h'.")
@click.option("--grace", help="Grace period after a missed run: seconds or '5m'.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(
    name: str | None,
    ping_url: str | None,
    timeout: float,
    schedule: str | None,
    timezone: str | None,
    max_runtime: str | None,
    grace: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND and report its start, its end and its output to Medic.

    \b
      medic exec --name nightly-backup -- /usr/local/bin/backup --full
      medic exec --ping-url https://medic.example.com/ping/<uuid> -- ./sync.sh

    Exits with COMMAND's exit code (128+N when signal N killed it, 127 when it is not
    found); SIGTERM, SIGINT and SIGHUP are passed on to it.
    """
    job = _job(name, ping_url, schedule, timezone, max_runtime, grace)
    client = Client(
        timeout=max(timeout, 1.0),
        retry=Retry(budget=timeout),
        on_error=lambda report: _warn(job, report),
        user_agent="medic-exec",
    )
    client.headers["X-Medic-Client"] = "cli"  # audited as the CLI, as medic.cli.remote
    run_id = uuid.uuid4().hex
    starter = threading.Thread(target=client.send, args=(job.start(run_id),), daemon=True)
    started = time.monotonic()
    starter.start()
    finished = ChildRun(command, TAIL_BYTES).run()
    duration = time.monotonic() - started
    starter.join()
    try:
        client.send(job.end(run_id, finished.ok, _message(finished, duration), finished.exit_code))
    except Exception as exc:  # whatever goes wrong in reporting, the job's exit code stands
        click.echo(f"medic exec: warning: the end of the run was not reported: {exc}", err=True)
    finally:
        client.close()
    click.get_current_context().exit(finished.exit_code)


def _job(
    name: str | None,
    ping_url: str | None,
    schedule: str | None,
    timezone: str | None,
    max_runtime: str | None,
    grace: str | None,
) -> Job:
    try:
        monitor = MonitorConfig.of(schedule, timezone, max_runtime, grace)
        return Job(name=name, ping_url=ping_url, monitor=monitor)
    except ValueError as exc:
        message = str(exc).replace("a job name and a ping URL", "--name and --ping-url")
        raise click.UsageError(message) from None


def _message(finished: Finished, duration: float) -> str:
    lines = [finished.describe(duration)]
    if finished.output:
        lines += [f"--- last {TAIL_BYTES // 1024} kB of output ---", finished.output]
    return "\n".join(lines)


def _warn(job: Job, report: Report) -> None:
    """A report Medic did not store is a warning on stderr (where a cron mail or a CI log
    shows it), never the job's failure."""
    hint = ""
    if report.status_code == 404 and job.name is not None:
        hint = f" (is {job.name!r} registered? --schedule with a write key creates it)"
    click.echo(f"medic exec: warning: Medic did not record the {report.describe()}{hint}", err=True)
