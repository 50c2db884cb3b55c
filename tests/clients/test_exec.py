"""`medic exec -- COMMAND`: the job runs as if Medic were not there (its streams, its
exit code), and Medic gets a start, then the outcome with the exit code, the duration
and the end of the output; a Medic that is down or refuses changes nothing for the job."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import textwrap
from collections.abc import Callable

import pytest

from tests.clients.conftest import PYTHON, Exec, Medic, server_provisions
from tests.fakes.receiver import Receiver
from tests.processes import MEDIC, clean_env, wait_for


def test_a_command_that_succeeds_reports_a_completed_run(
    served: Medic, ingest_key: str, medic_exec: Exec
) -> None:
    service = served.register("nightly-backup")
    job = "import sys; print('copied 3 files'); print('slow disk', file=sys.stderr)"

    done = medic_exec(
        "--name", "nightly-backup", "--", PYTHON, "-c", job, **_at(served, ingest_key)
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "copied 3 files\n"  # each stream passed through to its own
    assert done.stderr == "slow disk\n"
    start, end = served.beats("nightly-backup")
    assert (start["status"], end["status"]) == ("STARTED", "COMPLETED")
    assert start["run_id"] == end["run_id"] and len(start["run_id"]) >= 16
    [run] = served.runs(service)
    assert run["outcome"] == "completed" and run["duration_ms"] is not None
    message = _message(served, "nightly-backup", end)
    assert message.startswith("exit code 0 after ")
    assert "copied 3 files" in message and "slow disk" in message


def test_a_command_that_fails_reports_its_exit_code_and_exits_with_it(
    served: Medic, ingest_key: str, medic_exec: Exec
) -> None:
    service = served.register("import-orders")
    job = "import sys; print('x' * 30000); print('disk full', file=sys.stderr); sys.exit(3)"

    done = medic_exec("--name", "import-orders", "--", PYTHON, "-c", job, **_at(served, ingest_key))

    assert done.returncode == 3
    assert len(done.stdout) == 30001  # all of it reaches the terminal
    _, end = served.beats("import-orders")
    assert end["status"] == "FAILED"
    assert served.runs(service)[0]["outcome"] == "failed"
    message = _message(served, "import-orders", end)
    assert message.startswith("exit code 3 after ")
    assert "disk full" in message  # the end of the output, both streams
    output = message.split("--- last 10 kB of output ---\n", 1)[1]
    assert len(output.encode()) == 10 * 1024


def test_a_command_killed_by_a_signal_exits_as_a_shell_says(
    served: Medic, ingest_key: str, medic_exec: Exec
) -> None:
    served.register("flaky")
    job = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"

    done = medic_exec("--name", "flaky", "--", PYTHON, "-c", job, **_at(served, ingest_key))

    assert done.returncode == 128 + signal.SIGKILL
    _, end = served.beats("flaky")
    assert end["status"] == "FAILED"
    assert _message(served, "flaky", end).startswith("killed by SIGKILL (exit code 137)")


@pytest.mark.parametrize(
    ("sent", "terminal"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-at-a-terminal"],
)
def test_a_signal_to_medic_exec_reaches_the_command_and_is_reported(
    served: Medic, ingest_key: str, sent: signal.Signals, terminal: bool
) -> None:
    served.register("long-job")
    job = textwrap.dedent(f"""
        import signal, sys, time
        def stop(number, frame):
            print("cleaning up after", signal.Signals(number).name, flush=True)
            sys.exit(7)
        signal.signal({sent.value}, stop)
        print("ready", flush=True)
        time.sleep(120)
    """)
    env = clean_env(MEDIC_URL=served.url, MEDIC_API_KEY=ingest_key)
    # At a terminal the command shares medic exec's process group; else it has its own.
    controller, stdin = pty.openpty() if terminal else (None, subprocess.DEVNULL)
    process = subprocess.Popen(
        [str(MEDIC), "exec", "--name", "long-job", "--", PYTHON, "-c", job],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        wait_for("the start recorded", lambda: served.beats("long-job"), 30)
        process.send_signal(sent)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if controller is not None:
            os.close(controller)
            os.close(stdin)

    assert process.returncode == 7, err  # the command handled it: its own exit code
    assert out == f"cleaning up after {sent.name}\n"
    _, end = served.beats("long-job")
    assert end["status"] == "FAILED"
    message = _message(served, "long-job", end)
    assert f"medic exec received {sent.name} and passed it on to the command" in message
    assert f"cleaning up after {sent.name}" in message


@pytest.mark.parametrize("exit_code", [0, 4])
def test_medic_down_changes_neither_the_outcome_nor_the_exit_code(
    unreachable: str, medic_exec: Exec, exit_code: int
) -> None:
    job = f"import sys; print('done'); sys.exit({exit_code})"

    done = medic_exec(
        "--name", "nightly", "--timeout", "1", "--", PYTHON, "-c", job, url=unreachable, key="k"
    )

    assert done.returncode == exit_code
    assert done.stdout == "done\n"
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, done.stderr  # the start and the end, each said once
    assert all(f"cannot reach Medic at {unreachable}" in line for line in warnings)


def test_a_command_that_cannot_start_is_a_failure_with_the_shells_code(
    served: Medic, ingest_key: str, medic_exec: Exec
) -> None:
    served.register("typo")

    done = medic_exec("--name", "typo", "--", "/no/such/command", **_at(served, ingest_key))

    assert done.returncode == 127
    assert "command not found: /no/such/command" in done.stderr
    _, end = served.beats("typo")
    assert end["status"] == "FAILED"
    assert _message(served, "typo", end).startswith("command not found: /no/such/command")


def test_a_ping_url_alone_is_enough(served: Medic, medic_exec: Exec) -> None:
    service = served.register("rsync-mirror")
    job = "import sys; print('partial transfer'); sys.exit(23)"

    done = medic_exec("--ping-url", served.ping_url(service), "--", PYTHON, "-c", job)

    assert done.returncode == 23, done.stderr
    start, end = served.beats("rsync-mirror")
    assert (start["status"], end["status"]) == ("STARTED", "FAILED")
    assert start["run_id"] == end["run_id"] is not None
    assert served.runs(service)[0]["outcome"] == "failed"
    assert "partial transfer" in _message(served, "rsync-mirror", end)


def test_the_monitor_options_go_with_the_start_only(
    webhook_receiver: Receiver, medic_exec: Exec
) -> None:
    webhook_receiver.answer(201, {"success": True, "message": "ok", "results": {}})
    options = ["--schedule", "0 2 * * *", "--timezone", "Europe/Paris"]
    options += ["--max-runtime", "1h", "--grace", "5m"]

    done = medic_exec(
        "--name",
        "nightly-etl",
        *options,
        "--",
        "true",
        "--token=s3cret",
        url=webhook_receiver.url,
        key="mdk_k",
    )

    assert done.returncode == 0, done.stderr
    start, end = webhook_receiver.requests
    assert start.path == end.path == "/v2/heartbeats"
    assert start.headers["authorization"] == "Bearer mdk_k"
    assert start.headers["x-medic-client"] == "cli"  # audited as the CLI door
    assert start.json["monitor"] == {
        "schedule": "0 2 * * *",
        "timezone": "Europe/Paris",
        "max_runtime_seconds": 3600,
        "grace_seconds": 300,
    }
    assert start.json["status"] == "STARTED" and end.json["status"] == "COMPLETED"
    assert "monitor" not in end.json
    assert start.json["run_id"] == end.json["run_id"]
    assert b"s3cret" not in start.body + end.body  # the command line is not sent


@pytest.mark.skipif(not server_provisions(), reason="the server takes no monitor config yet")
def test_a_write_key_creates_the_monitor_from_the_job(
    served: Medic, make_key: Callable[..., str], medic_exec: Exec
) -> None:
    options = ["--schedule", "1h", "--timezone", "Europe/Paris"]
    options += ["--max-runtime", "30m", "--grace", "5m"]

    done = medic_exec(
        "--name", "fresh-job", *options, "--", "true", **_at(served, make_key("write"))
    )

    assert done.returncode == 0 and done.stderr == ""
    service = served.service("fresh-job")
    assert service is not None
    assert (service["schedule_type"], service["alert_interval"]) == ("interval", 60)
    assert service["timezone"] == "Europe/Paris"
    assert (service["max_duration_seconds"], service["grace_period_seconds"]) == (1800, 300)
    assert served.runs(service)[0]["outcome"] == "completed"


def test_an_unknown_name_is_warned_about_once_per_report_and_not_retried(
    served: Medic, ingest_key: str, medic_exec: Exec
) -> None:
    done = medic_exec("--name", "never-registered", "--", "true", **_at(served, ingest_key))

    assert done.returncode == 0
    warnings = done.stderr.splitlines()
    assert len(warnings) == 2, done.stderr
    assert all("404" in line and "after" not in line for line in warnings)  # one attempt
    assert "is 'never-registered' registered?" in warnings[0]


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ([], "give exactly one of --name and --ping-url"),
        (["--name", "a", "--ping-url", "http://x/ping/1"], "exactly one of --name"),
        (["--ping-url", "http://x/ping/1", "--schedule", "1h"], "a ping URL cannot configure"),
        (["--name", "a", "--max-runtime", "soon"], "max_runtime: 'soon' is not a duration"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    medic_exec: Exec, tmp_path: object, options: list[str], refusal: str
) -> None:
    done = medic_exec(*options, "--", "touch", "ran", url="http://127.0.0.1:9")

    assert done.returncode == 2
    assert refusal in done.stderr
    assert not (tmp_path / "ran").exists()  # type: ignore[operator]


def _at(served: Medic, key: str) -> dict[str, str]:
    return {"url": served.url, "key": key}


def _message(served: Medic, name: str, beat: dict[str, object]) -> str:
    """A heartbeat's message, which a report from `medic exec` always has."""
    message = beat.get("message")
    assert isinstance(message, str), beat
    return message
