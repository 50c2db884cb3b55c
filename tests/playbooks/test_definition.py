"""Playbook YAML (pure rules, no database): seed 003's example parses, and every mistake
is reported with the YAML line and the field path a person needs to fix it."""

from __future__ import annotations

import pytest

from medic.core.playbook_definition import (
    MAX_SOURCE_BYTES,
    Approval,
    ConditionStep,
    PlaybookError,
    ScriptStep,
    Trigger,
    WaitStep,
    WebhookStep,
    canonical,
    content_hash,
    variables_in,
)
from medic.core.playbook_parsing import parse_playbook
from tests.playbooks import SEED_EXAMPLE


def error_of(text: str) -> str:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text)
    return str(caught.value)


def with_step(step_yaml: str, approval: str = "none") -> str:
    """A minimal playbook whose only step is `step_yaml` (indented under `steps:`, line 4)."""
    return f"name: one-step\napproval: {approval}\nsteps:\n{step_yaml}"


def test_the_seed_example_parses() -> None:
    playbook = parse_playbook(SEED_EXAMPLE)
    assert playbook.name == "restart-worker"
    assert playbook.description == "Restart the worker service and verify recovery"
    assert playbook.trigger == Trigger(service_pattern="worker-*", consecutive_failures=3)
    assert playbook.approval == Approval("none")
    restart, wait, verify = playbook.steps
    assert isinstance(restart, WebhookStep)
    assert (restart.url, restart.method, restart.body) == (
        "https://internal-api/restart",
        "POST",
        {"service": "${SERVICE_NAME}"},
    )
    assert restart.accepts(204) and not restart.accepts(302)  # default: any 2xx
    assert wait == WaitStep(name="wait-for-recovery", duration_seconds=30)
    assert verify == ConditionStep(
        name="verify-heartbeat",
        check="heartbeat_received",
        timeout_seconds=60,
        on_failure="escalate",
    )


def test_canonical_form_fills_defaults_and_counts_seconds() -> None:
    data = canonical(parse_playbook(SEED_EXAMPLE))
    assert data["approval"] == "none"
    assert data["trigger"] == {"service_pattern": "worker-*", "consecutive_failures": 3}
    assert data["steps"][0] == {
        "name": "restart-service",
        "type": "webhook",
        "url": "https://internal-api/restart",
        "method": "POST",
        "headers": {},
        "body": {"service": "${SERVICE_NAME}"},
        "success_status": [[200, 299]],
        "success_json": None,
        "timeout_seconds": 30,
    }
    assert data["steps"][1] == {"name": "wait-for-recovery", "type": "wait", "duration_seconds": 30}


def test_every_step_type_and_option() -> None:
    playbook = parse_playbook(
        "name: all-kinds\n"
        "approval: timeout:30m\n"
        "steps:\n"
        "  - name: call\n"
        "    type: webhook\n"
        "    url: https://api.example.com/jobs/${SERVICE_NAME}?alert=${ALERT_ID}\n"
        "    method: put\n"
        "    headers:\n"
        "      Authorization: Bearer ${secrets.RUNDECK_TOKEN}\n"
        "      X-Execution: ${EXECUTION_ID}\n"
        "    body: [1, 2.5, true, null, {nested: '${HEARTBEAT_NAME}'}]\n"
        "    success_status: [200, 201, '202-204', 409]\n"
        "    success_json: {path: data.state, equals: done}\n"
        "    timeout: 2m\n"
        "  - name: restart_nginx\n"
        "    type: script\n"
        "    script: restart-nginx.sh\n"
        "    args: ['--graceful', '${SERVICE_NAME}']\n"
        "    timeout: 10m\n"
        "  - name: check\n"
        "    type: condition\n"
        "    check: heartbeat_received\n"
    )
    assert playbook.approval == Approval("timeout", 30)
    assert str(playbook.approval) == "timeout:30m"
    assert playbook.trigger is None  # runs only on demand
    call, script, check = playbook.steps
    assert isinstance(call, WebhookStep)
    assert call.method == "PUT"
    assert call.success_status == ((200, 204), (409, 409))
    assert call.accepts(203) and call.accepts(409) and not call.accepts(205)
    assert call.success_json is not None and call.success_json.equals == "done"
    assert call.body == [1, 2.5, True, None, {"nested": "${HEARTBEAT_NAME}"}]
    assert call.timeout_seconds == 120
    assert script == ScriptStep(
        name="restart_nginx",
        script="restart-nginx.sh",
        args=("--graceful", "${SERVICE_NAME}"),
        timeout_seconds=600,
    )
    assert check == ConditionStep(name="check")  # timeout 5m, on_failure fail


def test_approval_defaults_to_required_and_trigger_failures_to_one() -> None:
    playbook = parse_playbook(
        "name: careful\ntrigger: {service_pattern: db-*}\nsteps: [{name: w, type: wait, "
        "duration: 1m}]\n"
    )
    assert playbook.approval == Approval("required")
    assert playbook.trigger == Trigger("db-*", 1)


def test_trigger_pattern_is_a_case_insensitive_glob() -> None:
    trigger = Trigger("worker-*", 3)
    assert trigger.matches("worker-7") and trigger.matches("Worker-EU")
    assert not trigger.matches("api-worker-1")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "type: webhook",
            "type: http",
            "line 9: steps[0].type: must be one of webhook, script, wait, condition, agent",
        ),
        (
            '    url: "https://internal-api/restart"\n',
            "",
            "line 8: steps[0].url: is required for a webhook step",
        ),
        (
            "approval: none",
            "approval: timeout:0m",
            "line 6: approval: the timeout must be between 1 and 1440 minutes",
        ),
        (
            "approval: none",
            "approval: timeout:1441m",
            "line 6: approval: the timeout must be between 1 and 1440 minutes",
        ),
        (
            "approval: none",
            "approval: timeout:abc",
            "line 6: approval: must be none, required or timeout:<N>m",
        ),
        ("approval: none", "approval: yes", "line 6: approval: must be none, required or"),
        (
            "${SERVICE_NAME}",
            "${FOO}",
            "line 13: steps[0].body.service: unknown variable ${FOO}",
        ),
        (
            "${SERVICE_NAME}",
            "${SERVICE_NAME",
            "line 13: steps[0].body.service: unterminated ${",
        ),
        (
            "name: wait-for-recovery",
            "name: restart-service",
            "line 14: steps[1].name: duplicate step name 'restart-service' (also steps[0])",
        ),
        (
            "    method: POST\n",
            "    method: POST\n    retries: 3\n",
            "line 12: steps[0].retries: unknown key (allowed: name, type, url, method,",
        ),
        ("approval: none\n", "approval: none\nowner: sre\n", "line 7: owner: unknown key"),
        (
            "consecutive_failures: 3",
            "consecutive_failures: 0",
            "line 5: trigger.consecutive_failures: must be between 1 and 1000",
        ),
        (
            "consecutive_failures: 3",
            "consecutive_failures: three",
            "line 5: trigger.consecutive_failures: must be a whole number, not a string",
        ),
        ("duration: 30s", "duration: 30", "line 16: steps[1].duration: must be a duration"),
        ("duration: 30s", "duration: 2d", "line 16: steps[1].duration: must be between 1s and 24h"),
        ("duration: 30s", "duration: soon", "line 16: steps[1].duration: invalid duration"),
        ("timeout: 60s", "timeout: 0s", "line 20: steps[2].timeout: duration must be positive"),
        (
            "on_failure: escalate",
            "on_failure: retry",
            "line 21: steps[2].on_failure: must be one of escalate, fail, continue",
        ),
        (
            "check: heartbeat_received",
            "check: pinged",
            "line 19: steps[2].check: must be one of heartbeat_received",
        ),
        ("method: POST", "method: TRACE", "line 11: steps[0].method: must be one of GET, POST"),
        (
            '"https://internal-api/restart"',
            "ftp://internal-api/restart",
            "line 10: steps[0].url: must be an http:// or https:// URL",
        ),
        (
            '"https://internal-api/restart"',
            "https://admin:hunter2@internal-api/restart",
            "line 10: steps[0].url: must not carry credentials",
        ),
        ("name: restart-worker", "name: Restart Worker", "line 1: name: 'Restart Worker' must be"),
        ("name: restart-worker\n", "", "line 1: name: is required"),
        (
            "    method: POST\n",
            "    method: POST\n    headers:\n      Authorization: Bearer abc123\n",
            "line 13: steps[0].headers.Authorization: credentials must come from a secret",
        ),
        (
            "    method: POST\n",
            "    method: POST\n    success_status: [200, 700]\n",
            "line 12: steps[0].success_status: 700: status codes are 100 to 599",
        ),
        (
            "    method: POST\n",
            "    method: POST\n    success_json: {path: status}\n",
            "line 12: steps[0].success_json.equals: is required",
        ),
        (
            'service_pattern: "worker-*"',
            'service_pattern: "${SERVICE_NAME}"',
            "line 4: trigger.service_pattern: is a glob like worker-*, not a template",
        ),
    ],
)
def test_each_mistake_names_its_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in SEED_EXAMPLE
    assert error_of(SEED_EXAMPLE.replace(old, new, 1)).startswith(expected)


def test_duplicate_keys_name_both_lines() -> None:
    text = SEED_EXAMPLE.replace("    duration: 30s\n", "    duration: 30s\n    duration: 1m\n")
    assert error_of(text) == "line 17: steps[1].duration: duplicate key (first on line 16)"


def test_yaml_syntax_errors_name_the_line() -> None:
    text = SEED_EXAMPLE.replace("approval: none", "approval: [none")
    message = error_of(text)
    assert message.startswith("line 7: expected ',' or ']'")
    assert "on line 6" in message
    assert error_of("name: x\n\tsteps: []\n").startswith("line 2: found character '\\t'")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- restart\n- verify\n", "line 1: the playbook must be a YAML mapping"),
        ("restart-worker\n", "line 1: the playbook must be a YAML mapping"),
        ("", "line 1: the playbook is empty"),
        ("# only a comment\n", "line 1: the playbook is empty"),
        ("name: a\n---\nname: b\n", "line 2: but found another document"),
        ("name: a\nsteps: []\n", "line 2: steps: must be a list of at least one step"),
        ("name: a\nsteps: {x: 1}\n", "line 2: steps: must be a list of at least one step"),
        ("name: a\nsteps:\n  - wait\n", "line 3: steps[0]: must be a mapping, not a string"),
        ("name: a\n1: b\n", "line 2: key '1' must be a string (quote it)"),
        ("name: !!python/object:os.system x\n", "line 1: name: unsupported YAML tag !!python"),
        ("name: a\nbody: !!binary aGk=\n", "line 2: body: unsupported YAML tag !!binary"),
        ("name: a\ndescription: .inf\n", "line 2: description: .inf is not a JSON number"),
    ],
)
def test_documents_that_are_not_a_playbook(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_step_count_is_limited() -> None:
    steps = "".join(f"  - {{name: w{i}, type: wait, duration: 1s}}\n" for i in range(51))
    assert error_of(f"name: long\nsteps:\n{steps}") == "line 2: steps: at most 50 steps, not 51"


def test_every_problem_is_reported_in_line_order() -> None:
    text = SEED_EXAMPLE.replace("approval: none", "approval: sometimes").replace(
        "type: wait", "type: sleep"
    )
    assert error_of(text) == (
        "line 6: approval: must be none, required or timeout:<N>m (like timeout:30m); "
        "line 15: steps[1].type: must be one of webhook, script, wait, condition, agent"
    )


def test_aliases_and_huge_or_deep_documents_are_refused() -> None:
    bomb = 'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n'
    assert error_of(bomb) == "line 2: aliases (*name) are not allowed in a playbook"
    merge = "base: &base {type: wait}\nsteps:\n  - <<: {type: wait}\n    name: w\n"
    assert "line 3: steps[0]: merge keys (<<) are not allowed" in error_of(merge)
    huge = SEED_EXAMPLE + "#" * MAX_SOURCE_BYTES
    assert error_of(huge).startswith("line 1: the playbook is ")
    deep = "name: x\nbody: " + "[" * 100 + "]" * 100 + "\n"
    assert error_of(deep) == "line 2: nested more than 32 levels deep"


def test_secrets_are_referenced_never_written() -> None:
    text = SEED_EXAMPLE.replace(
        "    method: POST\n",
        "    method: POST\n    headers:\n      X-Api-Key: ${secrets.INTERNAL_KEY}\n",
    ).replace('"${SERVICE_NAME}"', '"${SERVICE_NAME} costs $$5"')
    step = parse_playbook(text).steps[0]
    assert isinstance(step, WebhookStep)
    assert step.headers == {"X-Api-Key": "${secrets.INTERNAL_KEY}"}
    bad = text.replace("${secrets.INTERNAL_KEY}", "${secrets.bad name}")
    assert error_of(bad).startswith("line 13: steps[0].headers.X-Api-Key: ${secrets.bad name}:")


def test_variables_in_lists_references_and_skips_escapes() -> None:
    text = "${SERVICE_NAME}/$${literal}/${secrets.TOKEN}/${ALERT_ID}"
    assert list(variables_in(text)) == ["SERVICE_NAME", "secrets.TOKEN", "ALERT_ID"]
    with pytest.raises(ValueError, match="unknown variable"):
        list(variables_in("${HOME}"))


REFORMATTED = """\
# The same playbook as seed 003's, in other words: flow style, comments,
# keys reordered, and every default written out.
approval: "none"   # no human needed
name: 'restart-worker'
description: >-
  Restart the worker service and verify recovery
trigger: {consecutive_failures: 3, service_pattern: worker-*}
steps:
  - {type: webhook, name: restart-service, url: "https://internal-api/restart",
     method: post, body: {service: "${SERVICE_NAME}"}, success_status: ["200-299"],
     timeout: 30s, headers: {}}
  - name: wait-for-recovery
    type: wait
    duration: 0m30s
  - name: verify-heartbeat
    on_failure: escalate
    timeout: 1m
    check: heartbeat_received
    type: condition
"""


def test_content_hash_ignores_comments_formatting_and_spelled_out_defaults() -> None:
    seed = parse_playbook(SEED_EXAMPLE)
    assert canonical(parse_playbook(REFORMATTED)) == canonical(seed)
    assert content_hash(parse_playbook(REFORMATTED)) == content_hash(seed)
    assert len(content_hash(seed)) == 64


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("duration: 30s", "duration: 31s"),
        ("approval: none", "approval: required"),
        ("consecutive_failures: 3", "consecutive_failures: 4"),
        ("${SERVICE_NAME}", "${HEARTBEAT_NAME}"),
        ("recovery\n", "recovery!\n"),
    ],
)
def test_content_hash_changes_with_the_content(old: str, new: str) -> None:
    changed = parse_playbook(SEED_EXAMPLE.replace(old, new, 1))
    assert content_hash(changed) != content_hash(parse_playbook(SEED_EXAMPLE))
