"""Variables fill values, never structure (issue 14, finding 6), attacked through the
API on SQLite and PostgreSQL: a service's name is chosen by whoever registers it, and
playbook steps put it into URLs, JSON bodies and script arguments.

* a service named `..` (or `.`) cannot collapse `…/services/${SERVICE_NAME}/restart`
  into `…/restart`: a path segment's value is fully percent-encoded, and a dot segment
  is refused before anything is sent;
* a service named `x","admin":true,"y":"` cannot add keys to a JSON body, whether the
  body is YAML data or a JSON string; a JSON template that does not parse is refused;
* a service named `-rf` reaches a script as an operand, never as an option;
* a caller's value is never expanded again (`${secrets.X}` in a name stays literal).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.playbooks.context import StepContext
from medic.playbooks.substitute import SubstitutionError, substitute_url
from tests.executions.conftest import SECRETS_KEY
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner

TOKEN = "restart-token-injection-5d1"
INJECTION = 'x","admin":true,"y":"'


@pytest.fixture
def scripts_dir(shared_tmp_path: Path) -> Path:
    directory = shared_tmp_path / "scripts"
    directory.mkdir(mode=0o755)
    script = directory / "clear-cache.sh"
    script.write_text(
        textwrap.dedent("""\
            #!/bin/sh
            while getopts rfv opt; do echo "option -$opt"; done
            shift $((OPTIND - 1))
            for operand in "$@"; do echo "operand [$operand]"; done
        """)
    )
    script.chmod(0o755)
    return directory


@pytest.fixture
def settings_overrides(scripts_dir: Path) -> dict[str, Any]:
    return {
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_secrets_key": SECRETS_KEY,
        "medic_scripts_dir": scripts_dir,
    }


@pytest.fixture
def run_for(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> Callable[[str, str], int]:
    """Register a service named `name`, apply the playbook, run it on that service."""
    secret = client.put("/v2/secrets/RESTART_TOKEN", json={"value": TOKEN}, headers=admin_headers)
    assert secret.status_code in (200, 201), secret.text

    def run(name: str, playbook: str) -> int:
        register(name, service_name=name)
        applied = apply_playbook(playbook)
        started = execute(applied["name"], service=name)["results"]
        runner.run(int(started["execution_id"]))
        return int(started["execution_id"])

    return run


RESTART_BY_PATH = """
name: restart-by-path
approval: none
steps:
  - name: restart
    type: webhook
    url: "{url}/services/${{SERVICE_NAME}}/restart?token=${{secrets.RESTART_TOKEN}}"
"""


@pytest.mark.parametrize("name", ["..", "."])
def test_dot_dot_service_name_cannot_change_the_webhook_path(
    name: str,
    run_for: Callable[[str, str], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    execution_id = run_for(name, RESTART_BY_PATH.format(url=webhook_receiver.url))
    execution = runner.execution(execution_id)
    assert execution.state == "failed"
    assert webhook_receiver.requests == []  # not /restart, not /services/restart: nothing
    assert f"would be {name!r}" in (execution.error or "")
    assert "a variable may not make a path segment empty, '.' or '..'" in (execution.error or "")
    assert TOKEN not in (execution.error or "")


def test_a_dotted_service_name_stays_inside_its_segment(
    run_for: Callable[[str, str], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    execution_id = run_for("..%2F..%2Fadmin", RESTART_BY_PATH.format(url=webhook_receiver.url))
    assert runner.execution(execution_id).state == "completed"
    [request] = webhook_receiver.requests
    assert request.path.split("?")[0] == "/services/%2E%2E%252F%2E%2E%252Fadmin/restart"


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("/services/${SERVICE_NAME}/restart", ".."),
        ("/services/${SERVICE_NAME}/restart", "."),
        ("/services/${SERVICE_NAME}/restart", ""),
        ("/services/${SERVICE_NAME}", ".."),
        ("/services/%2E${SERVICE_NAME}/restart", "."),
        ("/services/.${SERVICE_NAME}/restart", "."),
    ],
)
def test_every_spelling_of_a_dot_segment_is_refused(template: str, value: str) -> None:
    context = StepContext(1, value, None, None)
    with pytest.raises(SubstitutionError, match="path segment"):
        substitute_url("https://h.example" + template, context)
    # In the query, or as part of a longer segment, the same value is only data.
    url = substitute_url("https://h.example/s/v${SERVICE_NAME}?q=${SERVICE_NAME}", context)
    assert url.startswith("https://h.example/s/v")


JSON_STRING_BODY = """
name: notify-json
approval: none
steps:
  - name: notify
    type: webhook
    url: "{url}/notify"
    headers:
      Content-Type: application/json
    body: '{{"service": "${{SERVICE_NAME}}", "action": "restart", "admin": false}}'
"""
YAML_DATA_BODY = """
name: notify-data
approval: none
steps:
  - name: notify
    type: webhook
    url: "{url}/notify"
    body:
      service: "${{SERVICE_NAME}}"
      action: restart
      admin: false
"""
UNTYPED_JSON_STRING_BODY = """
name: notify-untyped
approval: none
steps:
  - name: notify
    type: webhook
    url: "{url}/notify"
    body: '{{"service": "${{SERVICE_NAME}}", "admin": false}}'
"""


@pytest.mark.parametrize("playbook", [JSON_STRING_BODY, YAML_DATA_BODY, UNTYPED_JSON_STRING_BODY])
def test_service_name_cannot_inject_json_keys(
    playbook: str,
    run_for: Callable[[str, str], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    execution_id = run_for(INJECTION, playbook.format(url=webhook_receiver.url))
    assert runner.execution(execution_id).state == "completed"
    [request] = webhook_receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.json["service"] == INJECTION  # the whole name, as one string
    assert request.json["admin"] is False
    assert "y" not in request.json


def test_a_json_template_with_a_bare_variable_is_refused_not_sent(
    run_for: Callable[[str, str], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    playbook = JSON_STRING_BODY.replace('"${{SERVICE_NAME}}"', "${{SERVICE_NAME}}")
    execution_id = run_for('true, "admin": true', playbook.format(url=webhook_receiver.url))
    execution = runner.execution(execution_id)
    assert execution.state == "failed"
    assert "looks like JSON but is not valid JSON" in (execution.error or "")
    assert webhook_receiver.requests == []


def test_a_form_body_value_cannot_add_fields(
    run_for: Callable[[str, str], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    playbook = """
name: notify-form
approval: none
steps:
  - name: notify
    type: webhook
    url: "{url}/notify"
    headers:
      Content-Type: application/x-www-form-urlencoded
    body: "service=${{SERVICE_NAME}}&admin=false"
"""
    execution_id = run_for("x&admin=true", playbook.format(url=webhook_receiver.url))
    assert runner.execution(execution_id).state == "completed"
    [request] = webhook_receiver.requests
    assert request.body == b"service=x%26admin%3Dtrue&admin=false"


CLEAR_CACHE = """
name: clear-cache
approval: none
steps:
  - name: clear
    type: script
    script: clear-cache.sh
    args: ["-v", "${SERVICE_NAME}", "${HEARTBEAT_NAME}"]
    timeout: 10s
"""


def test_dash_value_reaches_a_script_as_data_not_an_option(
    run_for: Callable[[str, str], int],
    runner: Runner,
) -> None:
    execution_id = run_for("-rf", CLEAR_CACHE)
    assert runner.execution(execution_id).state == "completed"
    [step] = runner.steps(execution_id)
    # -v is the definition's own option; -rf (the service, and its heartbeat name) are
    # operands after the `--` Medic put before the first argument from a variable.
    assert (step.output or "").splitlines() == ["option -v", "operand [-rf]", "operand [-rf]"]


def test_a_caller_value_is_never_expanded_again(
    run_for: Callable[[str, str], int],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    name = "${secrets.RESTART_TOKEN}"
    execution_id = run_for(name, YAML_DATA_BODY.format(url=webhook_receiver.url))
    assert runner.execution(execution_id).state == "completed"
    [request] = webhook_receiver.requests
    assert request.json["service"] == name
    assert TOKEN not in request.body.decode()
