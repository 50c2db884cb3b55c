"""Secrets stay sealed (issue 14, finding 7), attacked, on SQLite and PostgreSQL where a
database is involved:

* a `success_json` failure quoting a 27-character secret shows none of it: not in
  `GET /v2/executions/{id}` (a read key), the audit log, nor the team's Slack channel
  (redaction runs before any cut);
* redaction ignores case and sees through encodings: a secret host that URL parsing
  lowercased, a receiver echoing it upper-cased, its percent-encoded forms;
* httpx does not log the URLs Medic requests, which may carry a secret;
* a registered script cannot read Medic's environment (`/proc/$PPID/environ`): Medic
  drops its secrets from its environment once read and is not dumpable, and as root it
  runs scripts as MEDIC_SCRIPT_USER (`nobody`), where the process limit applies.
"""

from __future__ import annotations

import base64
import json
import logging
import logging.config
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from medic.cli.settings import configure_logging
from medic.config import load_settings
from medic.core.playbook_definition import ScriptStep, WebhookStep
from medic.core.playbook_parsing import parse_playbook
from medic.hardening import QUIET_LOGGERS, drop_secret_environment, uvicorn_log_config
from medic.playbooks import scripts
from medic.playbooks.context import StepContext
from medic.playbooks.scripts import run_script_step
from medic.playbooks.substitute import MASK, path_segment_encode, redact, seal
from medic.playbooks.webhook_step import run_webhook_step
from medic.process import MedicProcess
from tests.conftest import auth
from tests.executions.conftest import SECRETS_KEY
from tests.fakes.receiver import Receiver
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.playbook_runs import Runner
from tests.postman import Postman
from tests.processes import MEDIC, wait_for
from tests.support import RecordingScheduler

TOKEN = "s3cr3t-health-token-0123456"
assert len(TOKEN) == 27
CHANNEL = "C0SECRETS"
ROOT = os.geteuid() == 0


@pytest.fixture
def settings_overrides(fake_slack: FakeSlack) -> dict[str, Any]:
    return {
        "slack_api_token": BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "slack_channel_id": CHANNEL,
        "medic_allowed_webhook_hosts": "127.0.0.1,localhost",
        "medic_secrets_key": SECRETS_KEY,
    }


def pieces_of(secret: str, text: str, size: int = 8) -> list[str]:
    """Every `size`-character piece of `secret` found in `text`, ignoring case."""
    lowered = text.lower()
    return [
        secret[i : i + size]
        for i in range(len(secret) - size + 1)
        if secret[i : i + size].lower() in lowered
    ]


@pytest.fixture
def set_secret(client: TestClient, admin_headers: dict[str, str]) -> Callable[[str, str], None]:
    def put(name: str, value: str) -> None:
        answer = client.put(f"/v2/secrets/{name}", json={"value": value}, headers=admin_headers)
        assert answer.status_code in (200, 201), answer.text

    return put


def slack_text(fake_slack: FakeSlack, scheduler: RecordingScheduler, postman: Postman) -> str:
    """Everything Medic sent to Slack, once the outbox is relayed and delivered."""
    scheduler.run_pass()
    postman.deliver()
    return json.dumps([call.body for call in fake_slack.calls("chat.postMessage")])


HEALTH_CHECK = """
name: check-health
approval: none
steps:
  - name: check
    type: webhook
    url: "{url}/health"
    headers:
      Authorization: "Bearer ${{secrets.HEALTH_TOKEN}}"
    success_json:
      path: status
      equals: ok
"""


def test_success_json_failure_does_not_leak_the_secret(
    client: TestClient,
    admin_headers: dict[str, str],
    read_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    set_secret: Callable[[str, str], None],
    webhook_receiver: Receiver,
    fake_slack: FakeSlack,
    scheduler: RecordingScheduler,
    postman: Postman,
) -> None:
    # The receiver (any host a playbook calls) echoes the token it was sent, placed so
    # that an 80-character cut before redaction would keep 26 of its 27 characters.
    webhook_receiver.answer(200, {"status": "a" * 52 + TOKEN})
    set_secret("HEALTH_TOKEN", TOKEN)
    register("worker-1", service_name="worker-1")
    apply_playbook(HEALTH_CHECK.format(url=webhook_receiver.url))
    execution_id = int(execute("check-health", service="worker-1")["results"]["execution_id"])
    execution = runner.run(execution_id)
    assert execution.state == "failed"
    [request] = webhook_receiver.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"  # the step did use it

    shown = client.get(f"/v2/executions/{execution_id}", headers=read_headers)
    assert shown.status_code == 200, shown.text
    assert 'JSON status is \\"' in shown.text and MASK in shown.text
    audit = client.get("/v2/audit", headers=admin_headers)
    assert audit.status_code == 200, audit.text
    assert "execution.step.webhook" in audit.text
    slack = slack_text(fake_slack, scheduler, postman)
    assert "check-health" in slack
    [step] = runner.steps(execution_id)
    stored = json.dumps([execution.error, step.summary, step.output])
    for where, text in [("API", shown.text), ("audit", audit.text), ("Slack", slack)]:
        assert pieces_of(TOKEN, text) == [], where
    assert pieces_of(TOKEN, stored) == []


@pytest.mark.parametrize(
    "form",
    [
        TOKEN.upper(),
        TOKEN.title(),
        quote("p@ss/w0rd " + TOKEN, safe=""),
        quote("p@ss/w0rd " + TOKEN, safe="").lower(),  # lowercase percent-escapes
        quote_plus("p@ss/w0rd " + TOKEN),
        path_segment_encode("p@ss/w0rd " + TOKEN),
        json.dumps('say "' + TOKEN + '"')[1:-1],
    ],
)
def test_redaction_is_case_insensitive(form: str) -> None:
    secrets = {"A": TOKEN, "B": "p@ss/w0rd " + TOKEN, "C": 'say "' + TOKEN + '"'}
    masked = redact(f"before {form} after", secrets)
    assert masked == f"before {MASK} after"
    # Cut short after redaction, never before: nothing of it survives either way.
    assert pieces_of(TOKEN, seal(f"{'x' * 30} {form}", secrets, 40), size=4) == []


TENANT_HOOK = """
name: tenant-restart
approval: none
steps:
  - name: restart
    type: webhook
    url: "http://${{secrets.TENANT_HOST}}:{port}/restart"
"""


def test_a_secret_host_lowercased_by_url_parsing_stays_masked(
    client: TestClient,
    read_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    set_secret: Callable[[str, str], None],
    webhook_receiver: Receiver,
) -> None:
    secret_host = "LocalHost"  # the tenant's host is a secret; httpx shows it lowercased
    webhook_receiver.answer(500, "no such tenant: LOCALHOST")
    set_secret("TENANT_HOST", secret_host)
    register("worker-1", service_name="worker-1")
    apply_playbook(TENANT_HOOK.format(port=webhook_receiver.port))
    execution_id = int(execute("tenant-restart", service="worker-1")["results"]["execution_id"])
    execution = runner.run(execution_id)
    assert execution.state == "failed"
    [step] = runner.steps(execution_id)
    assert f"http://{MASK}:{webhook_receiver.port}/restart" in (step.summary or "")
    shown = client.get(f"/v2/executions/{execution_id}", headers=read_headers).text
    for text in (shown, execution.error or "", step.summary or "", step.output or ""):
        assert "localhost" not in text.lower()


@pytest.fixture
def http_loggers() -> Iterator[None]:
    """The HTTP client loggers as a library leaves them (NOTSET), restored afterwards."""
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_httpx_does_not_log_secret_urls(
    http_loggers: None, webhook_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    text = "name: pb\napproval: none\nsteps:\n" + textwrap.indent(
        textwrap.dedent(f"""
            - name: hook
              type: webhook
              url: "{webhook_receiver.url}/x/${{secrets.TOKEN}}?token=${{secrets.TOKEN}}"
        """).strip(),
        "  ",
    )
    [step] = parse_playbook(text).steps
    assert isinstance(step, WebhookStep)
    context = StepContext(1, "worker-1", None, None, {"TOKEN": TOKEN})
    settings = load_settings(_env_file=None, medic_allowed_webhook_hosts="127.0.0.1")
    caplog.set_level(logging.INFO)

    # Left alone, httpx logs the full URL of every request at INFO, the token included.
    assert run_webhook_step(step, context, settings).ok
    assert TOKEN in caplog.text

    # Medic's logging setup (every command) quiets it, whatever LOG_LEVEL says.
    caplog.clear()
    configure_logging(load_settings(_env_file=None, log_level="DEBUG"))
    assert run_webhook_step(step, context, settings).ok
    assert TOKEN not in caplog.text
    assert all(logging.getLogger(name).level == logging.WARNING for name in QUIET_LOGGERS)

    # So does the logging configuration uvicorn applies in each `medic api` worker.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.config.dictConfig(uvicorn_log_config(uvicorn.config.LOGGING_CONFIG))
    caplog.clear()
    assert run_webhook_step(step, context, settings).ok
    assert TOKEN not in caplog.text
    assert len(webhook_receiver.requests) == 3


MEDIC_CHILD = """
import ctypes, json, os, sys
from medic.cli.settings import settings_or_exit
from medic.core.playbook_parsing import parse_playbook
from medic.playbooks.context import StepContext
from medic.playbooks.scripts import run_script_step

settings = settings_or_exit()  # what every medic command does first
playbook = "name: pb\\napproval: none\\nsteps:\\n  - {name: peek, type: script, script: peek.sh}"
[step] = parse_playbook(playbook).steps
result = run_script_step(step, StepContext(1, "worker-1", None, None), settings)
libc = ctypes.CDLL(None)
json.dump(
    {
        "ok": result.ok,
        "summary": result.summary,
        "output": result.output,
        "still_in_environ": sorted(n for n in os.environ if n.startswith(("MEDIC_SEC", "SLACK"))),
        "dumpable": libc.prctl(3, 0, 0, 0, 0),
    },
    sys.stdout,
)
"""
PEEK = """#!/bin/sh
echo "parent: $PPID"
cat /proc/$PPID/environ | tr '\\0' '\\n'
echo "--- my environment"
env
echo "--- done"
"""


@pytest.fixture
def peek_dir(shared_tmp_path: Path) -> Path:
    directory = shared_tmp_path / "scripts"
    directory.mkdir(mode=0o755)
    (directory / "peek.sh").write_text(PEEK)
    (directory / "peek.sh").chmod(0o755)
    return directory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux")
def test_script_cannot_read_medic_environment(peek_dir: Path, tmp_path: Path) -> None:
    """Medic (a process started with its secrets in its environment, which sets itself
    up like every medic command) runs a script that reads /proc/$PPID/environ: as root,
    the script runs as `nobody`; as any user, Medic is not dumpable. Either way the
    secrets key and the Slack signing secret do not reach the script."""
    secrets_key = base64.b64encode(b"K" * 32).decode()
    signing_secret = "slack-signing-secret-4f9a0c1e"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MEDIC_SECRETS_KEY": secrets_key,
        "SLACK_SIGNING_SECRET": signing_secret,
        "MEDIC_SCRIPTS_DIR": str(peek_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
    }
    child = subprocess.run(
        [sys.executable, "-c", MEDIC_CHILD],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr.decode()
    report = json.loads(child.stdout)
    output = report["output"] or ""
    assert report["ok"], report
    assert "--- done" in output  # the script ran to its end
    assert "environ: Permission denied" in output
    for value in (secrets_key, signing_secret):
        assert value not in output
        assert value not in child.stdout.decode()
    assert "MEDIC_SECRETS_KEY" not in output
    assert report["still_in_environ"] == []  # dropped once the settings were read
    assert report["dumpable"] == 0


@pytest.mark.skipif(not ROOT, reason="root ignores RLIMIT_NPROC; this checks Medic as root")
def test_script_process_limit_applies_as_root(
    peek_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scripts, "MAX_PROCESSES", 16)
    (peek_dir / "fork.sh").write_text(
        textwrap.dedent("""\
            #!/bin/sh
            echo "as $(id -un)"
            i=0
            while [ $i -lt 64 ]; do
              sh -c 'echo started; exec sleep 5' &
              i=$((i + 1))
            done
            wait
        """)
    )
    (peek_dir / "fork.sh").chmod(0o755)
    [step] = parse_playbook(
        "name: pb\napproval: none\nsteps:\n"
        "  - {name: fork, type: script, script: fork.sh, timeout: 20s}"
    ).steps
    assert isinstance(step, ScriptStep)
    settings = load_settings(_env_file=None, medic_scripts_dir=peek_dir)
    started = time.monotonic()
    result = run_script_step(step, StepContext(1, "worker-1", None, None), settings)
    output = result.output or ""
    assert output.startswith("as nobody")
    assert 0 < output.count("started") < 16  # the script and its children: 16 at most
    assert "fork" in output.lower()  # the shell says it could not fork
    assert time.monotonic() - started < 20


def test_medic_drops_exactly_its_secrets_from_the_environment() -> None:
    environ = {
        "MEDIC_SECRETS_KEY": "k",
        "slack_signing_secret": "s",
        "SLACK_BOT_TOKEN": "t",
        "PAGERDUTY_ROUTING_KEY": "p",
        "MEDIC_WEBHOOK_SECRET": "w",
        "DATABASE_URL": "postgresql://medic:pw@db/medic",
        "PATH": "/usr/bin",
        "MEDIC_TIMEZONE": "UTC",
    }
    dropped = drop_secret_environment(environ)
    assert environ == {"PATH": "/usr/bin", "MEDIC_TIMEZONE": "UTC"}
    assert len(dropped) == 6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_api_workers_still_read_their_settings_from_the_environment(
    medic: MedicProcess, make_key: Callable[..., str], tmp_path: Path
) -> None:
    """`medic api --workers 2` keeps the environment in the supervisor so the workers it
    starts can read the settings; each worker has the secrets key (it can seal a secret)."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MEDIC_", "DATABASE"))},
        "DATABASE_URL": medic.settings.sqlalchemy_url,
        "MEDIC_SECRETS_KEY": SECRETS_KEY,
        "MEDIC_RATE_LIMITER_TYPE": "memory",
        "MEDIC_TIMEZONE": "UTC",
    }
    with (tmp_path / "api.log").open("wb") as log:
        process = subprocess.Popen(
            [str(MEDIC), "api", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return process.poll() is not None

        wait_for("medic api to serve", healthy, timeout=60)
        assert process.poll() is None, (tmp_path / "api.log").read_text()
        headers = auth(make_key("admin"))
        for attempt in range(4):  # requests land on either worker
            answer = httpx.put(
                f"{base}/v2/secrets/TOKEN_{attempt}", json={"value": TOKEN}, headers=headers
            )
            assert answer.status_code in (200, 201), answer.text
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert TOKEN not in (tmp_path / "api.log").read_text()
