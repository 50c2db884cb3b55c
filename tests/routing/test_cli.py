"""`medic team|target|routing|hours …`: the CLI over HTTP, against the real API.

The commands run in click's CliRunner; their HTTP calls (`httpx.request` in
medic.cli.remote) go to the application in-process through the test client, with a
real key and database, exactly as they would over the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from medic.cli.targets import build_config
from tests.cli import Run
from tests.routing.helpers import Api

ROUTING_KEY = "abcdefghijklmnopqrstuvwxyz123456"


def test_teams_are_created_listed_updated_and_deleted(medic_cli: Run, api: Api) -> None:
    out = medic_cli(
        "team", "create", "payments", "--channel", "C0123ABCD", "--approver", "U0123ABCD"
    )
    assert "created team payments" in out.output
    listing = medic_cli("team", "list").output
    assert "payments" in listing and "C0123ABCD" in listing and "U0123ABCD" in listing

    medic_cli("team", "update", "payments", "--no-channel", "--approver", "W7654321")
    team = api.get("teams/payments")
    assert (team["slack_channel_id"], team["approvers"]) == (None, ["W7654321"])

    as_json = json.loads(medic_cli("team", "list", "--json").output)
    assert [t["name"] for t in as_json] == ["payments"]
    assert "deleted team payments" in medic_cli("team", "delete", "payments").output
    assert api.get("teams")["total"] == 0


def test_errors_are_the_api_s_message_and_exit_1(medic_cli: Run) -> None:
    result = medic_cli("team", "create", "payments", "--channel", "#payments", code=1)
    assert "400" in result.output and "not a Slack channel id" in result.output
    result = medic_cli("team", "delete", "ghost", code=1)
    assert "404: no team named 'ghost'" in result.output
    result = medic_cli("team", "update", "payments", code=2)
    assert "nothing to change" in result.output


def test_targets_take_config_as_json_or_settings(medic_cli: Run, api: Api) -> None:
    medic_cli(
        "target", "create", "hook", "--kind", "webhook",
        "--config", '{"url": "https://hooks.example.com/medic"}',
        "--set", "headers.Authorization=Bearer secret-token-1234",
        "--set", "method=PUT",
    )  # fmt: skip
    medic_cli(
        "target", "create", "pager", "--kind", "pagerduty", "--set", f"routing_key={ROUTING_KEY}"
    )
    medic_cli(
        "target", "create", "mail", "--kind", "email",
        "--set", "to=ops@example.com", "--set", "to=oncall@example.com", "--disabled",
    )  # fmt: skip

    hook = api.get("notification-targets/hook")
    assert hook["config"] == {
        "url": "https://hooks.example.com/medic",
        "method": "PUT",
        "headers": {"Authorization": "••••1234"},
    }
    mail = api.get("notification-targets/mail")
    assert mail["config"]["to"] == ["ops@example.com", "oncall@example.com"]
    assert mail["enabled"] is False

    listing = medic_cli("target", "list").output
    assert "hook" in listing and "••••3456" in listing
    assert ROUTING_KEY not in listing and "secret-token" not in listing

    medic_cli("target", "update", "mail", "--enable")
    assert api.get("notification-targets/mail")["enabled"] is True
    result = medic_cli(
        "target", "create", "x", "--kind", "slack", "--set", "chan=C0123ABCD", code=1
    )
    assert "unknown config key for a slack target: chan" in result.output
    assert "deleted target pager" in medic_cli("target", "delete", "pager").output


def test_set_builds_nested_lists_and_json_values() -> None:
    config = build_config(
        '{"url": "https://x.example"}',
        ("headers.A=1", "headers.B=2", "to=a", "to=b", "to=c", 'extra={"k": [1]}'),
    )
    assert config == {
        "url": "https://x.example",
        "headers": {"A": "1", "B": "2"},
        "to": ["a", "b", "c"],
        "extra": {"k": [1]},
    }
    assert build_config(None, ()) is None


def test_hours_and_policies_then_a_preview(
    medic_cli: Run, api: Api, register: Callable[..., dict[str, Any]]
) -> None:
    out = medic_cli(
        "hours", "create", "business", "--timezone", "America/New_York",
        "--days", "mon-fri", "--start", "09:00", "--end", "18:00", "--holidays", "US",
    ).output  # fmt: skip
    assert "created working hours business: mon,tue,wed,thu,fri 09:00-18:00" in out
    assert "US" in medic_cli("hours", "list").output
    medic_cli("target", "create", "chat", "--kind", "slack")
    medic_cli("target", "create", "pager", "--kind", "pagerduty")

    during = {"targets": ["chat"], "hours": "during", "working_hours": "business"}
    after = {"targets": ["pager"], "hours": "after", "working_hours": "business"}
    medic_cli(
        "routing", "create", "default", "--rule", json.dumps(during), "--rule", json.dumps(after)
    )
    listing = medic_cli("routing", "list").output
    assert "during business -> chat; after business -> pager" in listing
    register("nightly-etl")

    night = medic_cli("routing", "preview", "nightly-etl", "--at", "2027-03-15T23:00:00-04:00")
    assert "policy:  default [default], mode all" in night.output
    assert "targets: pager" in night.output
    morning = medic_cli(
        "routing", "preview", "nightly-etl",
        "--at", "2027-03-12T10:00", "--timezone", "America/New_York", "--json",
    )  # fmt: skip
    assert json.loads(morning.output)["targets"] == ["chat"]

    result = medic_cli("hours", "delete", "business", code=1)
    assert "409" in result.output and "'default'" in result.output
    medic_cli("routing", "update", "default", "--mode", "first_success")
    assert api.get("routing-policies/default")["mode"] == "first_success"
    assert "deleted routing policy default" in medic_cli("routing", "delete", "default").output
    assert "deleted working hours business" in medic_cli("hours", "delete", "business").output


def test_a_bad_rule_is_refused_before_any_request(medic_cli: Run) -> None:
    result = medic_cli("routing", "create", "p", "--rule", "targets=chat", code=2)
    assert "is not JSON" in result.output
