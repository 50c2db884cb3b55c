"""Webhook steps against a real HTTP receiver, through the real SSRF guard."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from medic.config import Settings, load_settings
from medic.core.playbook_definition import WebhookStep
from medic.core.playbook_parsing import parse_playbook
from medic.playbooks.context import StepContext
from medic.playbooks.substitute import MASK
from medic.playbooks.webhook_step import OUTPUT_BYTES, run_webhook_step
from tests.fakes.receiver import Receiver

TOKEN = "tok-9f8e7d6c5b4a"


def webhook(step_yaml: str) -> WebhookStep:
    text = "name: pb\napproval: none\nsteps:\n" + textwrap.indent(
        textwrap.dedent(step_yaml).strip(), "  "
    )
    [step] = parse_playbook(text).steps
    assert isinstance(step, WebhookStep)
    return step


def settings(**kw: Any) -> Settings:
    values: dict[str, Any] = {"medic_allowed_webhook_hosts": "127.0.0.1"}
    values.update(kw)
    return load_settings(_env_file=None, **values)


CONTEXT = StepContext(
    execution_id=11,
    service_name="worker-1",
    heartbeat_name="nightly",
    alert_id=5,
    secrets={"RESTART_TOKEN": TOKEN},
)


def assert_no_secret(result: Any) -> None:
    assert TOKEN not in result.summary
    assert TOKEN not in (result.output or "")
    assert "\n" not in result.summary


def test_variables_and_a_secret_header_reach_the_receiver(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer(200, {"accepted": True})
    step = webhook(f"""
        - name: restart
          type: webhook
          url: "{webhook_receiver.url}/restart/${{SERVICE_NAME}}?token=${{secrets.RESTART_TOKEN}}"
          headers:
            Authorization: "Bearer ${{secrets.RESTART_TOKEN}}"
          body:
            service: "${{SERVICE_NAME}}"
            heartbeat: "${{HEARTBEAT_NAME}}"
            alert: "${{ALERT_ID}}"
            execution: "${{EXECUTION_ID}}"
            price: "$$5"
            count: 3
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert result.ok, result.summary
    assert result.status_code == 200
    assert result.summary == f"POST {webhook_receiver.url}/restart/worker-1 → 200"
    [request] = webhook_receiver.requests
    assert request.method == "POST"
    assert request.path == f"/restart/worker-1?token={TOKEN}"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "service": "worker-1",
        "heartbeat": "nightly",
        "alert": "5",
        "execution": "11",
        "price": "$5",
        "count": 3,
    }
    assert json.loads(result.output or "") == {"accepted": True}
    assert_no_secret(result)


def test_a_string_body_is_sent_as_text(webhook_receiver: Receiver) -> None:
    step = webhook(f"""
        - name: note
          type: webhook
          method: PUT
          url: "{webhook_receiver.url}/note"
          body: "service ${{SERVICE_NAME}} is down"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert result.ok
    [request] = webhook_receiver.requests
    assert request.method == "PUT"
    assert request.body == b"service worker-1 is down"
    assert request.headers["content-type"].startswith("text/plain")


def test_a_caller_value_cannot_change_the_url(webhook_receiver: Receiver) -> None:
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/s/${{SERVICE_NAME}}"
    """)
    ctx = StepContext(1, "x/../admin?${secrets.RESTART_TOKEN}#", None, None, CONTEXT.secrets)
    assert run_webhook_step(step, ctx, settings()).ok
    [request] = webhook_receiver.requests
    # A path segment's value is encoded completely, `.` included.
    assert request.path == "/s/x%2F%2E%2E%2Fadmin%3F%24%7Bsecrets%2ERESTART_TOKEN%7D%23"


def test_success_status_ranges(webhook_receiver: Receiver) -> None:
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
          success_status: [202, "300-302"]
    """)
    webhook_receiver.answer(302)
    assert run_webhook_step(step, CONTEXT, settings()).ok
    webhook_receiver.answer(200)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert result.status_code == 200


def test_500_is_not_ok_and_reports_the_status(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer(500, f"boom, token {TOKEN}")
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
          headers:
            X-Api-Key: "${{secrets.RESTART_TOKEN}}"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert result.status_code == 500
    assert result.summary.endswith("→ 500")
    assert result.output == f"boom, token {MASK}"
    assert_no_secret(result)


@pytest.mark.parametrize(
    ("answer", "ok", "said"),
    [
        ({"data": {"state": "up", "items": [1, 2]}}, True, None),
        ({"data": {"state": "down"}}, False, 'JSON data.state is "down", expected "up"'),
        ({"data": {}}, False, "JSON has no data.state"),
        ("not json", False, "not JSON"),
    ],
)
def test_success_json(webhook_receiver: Receiver, answer: Any, ok: bool, said: str | None) -> None:
    webhook_receiver.answer(200, answer)
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
          success_json:
            path: data.state
            equals: up
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert result.ok is ok, result.summary
    assert result.status_code == 200
    if said:
        assert said in result.summary


def test_success_json_is_strict_about_types(webhook_receiver: Receiver) -> None:
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
          success_json: {{path: items.1.ok, equals: true}}
    """)
    webhook_receiver.answer(200, {"items": [{}, {"ok": 1}]})
    assert not run_webhook_step(step, CONTEXT, settings()).ok
    webhook_receiver.answer(200, {"items": [{}, {"ok": True}]})
    assert run_webhook_step(step, CONTEXT, settings()).ok


def test_a_private_address_is_refused_before_any_connection(webhook_receiver: Receiver) -> None:
    step = webhook("""
        - name: hook
          type: webhook
          url: "http://10.0.0.1/restart?token=${secrets.RESTART_TOKEN}"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert result.status_code is None
    assert result.summary.startswith("POST http://10.0.0.1/restart: refused:")
    assert "MEDIC_ALLOWED_WEBHOOK_HOSTS" in result.summary
    assert_no_secret(result)
    assert webhook_receiver.requests == []


def test_the_receiver_itself_is_refused_without_the_allow_list(
    webhook_receiver: Receiver,
) -> None:
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
    """)
    result = run_webhook_step(step, CONTEXT, settings(medic_allowed_webhook_hosts=""))
    assert not result.ok
    assert "refused" in result.summary
    assert webhook_receiver.requests == []


def test_a_redirect_is_not_followed(webhook_receiver: Receiver) -> None:
    webhook_receiver.redirect("http://10.0.0.1/")
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert result.status_code == 302
    assert len(webhook_receiver.requests) == 1


def test_connection_refused_is_a_clear_failure() -> None:
    receiver = Receiver()
    url = receiver.url
    receiver.close()
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{url}/x"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert "connection failed" in result.summary


def test_a_slow_answer_times_out(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer(200, delay=5)
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
          timeout: 1s
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert result.summary.endswith("timed out after 1s")


def test_output_is_capped(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer(200, "x" * (OUTPUT_BYTES * 3))
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert result.ok
    assert result.output == "x" * OUTPUT_BYTES


def test_a_secret_cut_off_at_the_cap_is_still_masked(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer(500, "y" * (OUTPUT_BYTES - 6) + TOKEN + "zzz")
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert result.output is not None
    assert result.output.endswith(MASK)
    assert TOKEN[:6] not in result.output


def test_a_missing_secret_fails_without_sending(webhook_receiver: Receiver) -> None:
    step = webhook(f"""
        - name: hook
          type: webhook
          url: "{webhook_receiver.url}/x"
          headers:
            Authorization: "Bearer ${{secrets.OTHER}}"
    """)
    result = run_webhook_step(step, CONTEXT, settings())
    assert not result.ok
    assert "secrets.OTHER" in result.summary
    assert webhook_receiver.requests == []
