"""v2 routing policies (SRE-10): rules name targets and schedules that exist, with
priorities among p1..p5 and `hours` only together with `working_hours`; services
name a policy that exists; what a policy or a service uses cannot be deleted. And
`load_plan`, what the delivery engine asks: which targets, in which mode, now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from medic.core.routing import Plan
from medic.models import Service
from medic.ops.routing_plan import load_plan
from medic.process import MedicProcess
from tests.routing.helpers import BUSINESS, Api

Register = Callable[..., dict[str, Any]]
# A Monday: 10:00 and 23:00 in New York (EST).
MORNING = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 3, 4, 0, tzinfo=UTC)


@pytest.fixture
def targets(api: Api) -> None:
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty"})
    api.create("notification-targets", {"name": "chat", "kind": "slack"})
    api.create("working-hours", BUSINESS)


def policy(name: str, *rules: dict[str, Any], mode: str = "all") -> dict[str, Any]:
    return {"name": name, "mode": mode, "rules": list(rules)}


@pytest.mark.usefixtures("targets")
def test_a_policy_is_created_and_read_back_as_stored(api: Api) -> None:
    created = api.create(
        "routing-policies",
        policy(
            "critical",
            {"targets": ["pager", "chat", "pager"], "priorities": ["P2", "p1"]},
            {"targets": ["chat"], "hours": "after", "working_hours": "business"},
            mode="first_success",
        ),
    )
    assert created["mode"] == "first_success"
    assert created["rules"] == [
        {
            "targets": ["pager", "chat"],
            "priorities": ["p1", "p2"],
            "hours": None,
            "working_hours": None,
        },
        {"targets": ["chat"], "priorities": None, "hours": "after", "working_hours": "business"},
    ]
    assert api.get("routing-policies/critical") == created
    assert api.get("routing-policies")["items"] == [created]


@pytest.mark.usefixtures("targets")
def test_policy_naming_a_missing_target_is_refused(api: Api) -> None:
    message = api.create(
        "routing-policies", policy("p", {"targets": ["pager", "ghost", "phantom"]}), expect=400
    )
    assert message == "rules name unknown notification targets: 'ghost', 'phantom'"
    assert api.get("routing-policies")["total"] == 0


def test_the_built_in_targets_need_no_row(api: Api) -> None:
    created = api.create("routing-policies", policy("default", {"targets": ["slack", "pagerduty"]}))
    assert created["rules"][0]["targets"] == ["slack", "pagerduty"]


@pytest.mark.usefixtures("targets")
def test_a_rule_naming_missing_working_hours_is_refused(api: Api) -> None:
    rule = {"targets": ["chat"], "hours": "during", "working_hours": "weekends"}
    message = api.create("routing-policies", policy("p", rule), expect=400)
    assert "unknown working hours: 'weekends'" in message


@pytest.mark.usefixtures("targets")
@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"targets": []}, "targets"),
        ({}, "targets is required"),
        ({"targets": ["chat"], "priorities": ["p6"]}, "'p6': use p1, p2, p3, p4, p5"),
        ({"targets": ["chat"], "priorities": ["critical"]}, "use p1"),
        ({"targets": ["chat"], "priorities": []}, "at least one priority"),
        ({"targets": ["chat"], "hours": "after"}, "go together"),
        ({"targets": ["chat"], "working_hours": "business"}, "go together"),
        ({"targets": ["chat"], "hours": "lunch", "working_hours": "business"}, "hours"),
        ({"targets": ["chat"], "severity": "high"}, "unknown field 'rules.0.severity'"),
    ],
)
def test_bad_rules_are_a_400_naming_the_problem(
    api: Api, rule: dict[str, Any], fragment: str
) -> None:
    assert fragment in api.create("routing-policies", policy("p", rule), expect=400)


@pytest.mark.usefixtures("targets")
def test_a_policy_needs_a_rule_and_a_known_mode(api: Api) -> None:
    assert "rules" in api.create("routing-policies", policy("p"), expect=400)
    body = policy("p", {"targets": ["chat"]}, mode="round_robin")
    assert "mode" in api.create("routing-policies", body, expect=400)


@pytest.mark.usefixtures("targets")
def test_update_replaces_the_rules_and_checks_them(api: Api) -> None:
    api.create("routing-policies", policy("p", {"targets": ["chat"]}))
    updated = api.patch("routing-policies/p", {"rules": [{"targets": ["pager"]}]})
    assert [r["targets"] for r in updated["rules"]] == [["pager"]]
    assert api.patch("routing-policies/p", {"mode": "first_success"})["mode"] == "first_success"
    assert "unknown" in api.patch("routing-policies/p", {"rules": [{"targets": ["x"]}]}, 400)
    assert "no fields" in api.patch("routing-policies/p", {}, expect=400)
    assert "must not be null" in api.patch("routing-policies/p", {"rules": None}, expect=400)
    assert api.get("routing-policies/p")["rules"][0]["targets"] == ["pager"]


@pytest.mark.usefixtures("targets")
def test_duplicates_are_409_and_unknown_names_404(api: Api) -> None:
    api.create("routing-policies", policy("default", {"targets": ["chat"]}))
    api.create("routing-policies", policy("DEFAULT", {"targets": ["chat"]}), expect=409)
    api.get("routing-policies/nope", expect=404)
    api.patch("routing-policies/nope", {"mode": "all"}, expect=404)
    api.delete("routing-policies/nope", expect=404)


@pytest.mark.usefixtures("targets")
def test_a_service_naming_a_missing_policy_is_refused(api: Api, register: Register) -> None:
    body = {"heartbeat_name": "etl", "alert_interval": 5, "routing_policy": "ghost"}
    message = api.create("services", body, expect=400)
    assert message == "routing_policy: no routing policy named 'ghost'"
    service = register("etl")
    message = api.patch(f"services/{service['service_id']}", {"routing_policy": "ghost"}, 400)
    assert "no routing policy named 'ghost'" in message


@pytest.mark.usefixtures("targets")
def test_a_service_names_its_policy_and_may_go_back_to_default(
    api: Api, register: Register
) -> None:
    api.create("routing-policies", policy("critical", {"targets": ["pager"]}))
    service = register("etl", routing_policy="critical")
    assert service["routing_policy"] == "critical"
    path = f"services/{service['service_id']}"
    assert api.get(path)["routing_policy"] == "critical"
    assert api.patch(path, {"routing_policy": None})["routing_policy"] is None
    assert api.patch(path, {"routing_policy": "critical"})["routing_policy"] == "critical"
    assert api.patch(path, {"routing_policy": ""})["routing_policy"] is None


@pytest.mark.usefixtures("targets")
def test_a_policy_services_name_cannot_be_deleted(api: Api, register: Register) -> None:
    api.create("routing-policies", policy("critical", {"targets": ["pager"]}))
    service = register("etl", routing_policy="critical")
    billing = register("billing", routing_policy="critical")

    message = api.delete("routing-policies/critical", expect=409)
    assert "used by 2 services ('billing', 'etl')" in message

    api.delete(f"services/{service['service_id']}")
    api.patch(f"services/{billing['service_id']}", {"routing_policy": None})
    assert api.delete("routing-policies/critical") == {"name": "critical"}


@pytest.mark.usefixtures("targets")
def test_every_change_is_audited(api: Api) -> None:
    api.create("routing-policies", policy("p", {"targets": ["chat"]}))
    api.patch("routing-policies/p", {"mode": "first_success"})
    api.delete("routing-policies/p")
    [created] = api.audit("routing_policy.create")
    assert created["details"]["rules"][0]["targets"] == ["chat"]
    [updated] = api.audit("routing_policy.update")
    assert (updated["details"]["before"]["mode"], updated["details"]["after"]["mode"]) == (
        "all",
        "first_success",
    )
    assert api.audit("routing_policy.delete")[0]["target_type"] == "routing_policy"


# --- load_plan: what the delivery engine asks -------------------------------------


def plan_of(medic: MedicProcess, service_id: int | None, at: datetime) -> Plan | None:
    with medic.db.session() as session:
        service = session.get(Service, service_id) if service_id else None
        return load_plan(session, service, at)


@pytest.mark.usefixtures("targets")
def test_no_policy_at_all_is_none(medic: MedicProcess, register: Register) -> None:
    service = register("etl")
    assert plan_of(medic, service["service_id"], MORNING) is None
    assert plan_of(medic, None, MORNING) is None


@pytest.mark.usefixtures("targets")
def test_the_default_policy_routes_services_that_name_none(
    api: Api, medic: MedicProcess, register: Register
) -> None:
    api.create(
        "routing-policies",
        policy(
            "default",
            {"targets": ["chat"]},
            {"targets": ["pager"], "hours": "after", "working_hours": "business"},
        ),
    )
    service = register("etl")["service_id"]
    assert plan_of(medic, service, MORNING) == Plan("all", ("chat",))
    assert plan_of(medic, service, NIGHT) == Plan("all", ("chat", "pager"))
    # A window over every service: no service, no priority, the unconditional rules.
    assert plan_of(medic, None, NIGHT) == Plan("all", ("chat", "pager"))


@pytest.mark.usefixtures("targets")
def test_a_service_s_own_policy_wins_with_its_priority(
    api: Api, medic: MedicProcess, register: Register
) -> None:
    api.create("routing-policies", policy("default", {"targets": ["chat"]}))
    api.create(
        "routing-policies",
        policy(
            "critical",
            {"targets": ["pager"], "priorities": ["p1"]},
            {"targets": ["chat"]},
            mode="first_success",
        ),
    )
    urgent = register("payments", routing_policy="critical", priority="p1")["service_id"]
    routine = register("reports", routing_policy="critical", priority="p4")["service_id"]
    assert plan_of(medic, urgent, MORNING) == Plan("first_success", ("pager", "chat"))
    assert plan_of(medic, routine, MORNING) == Plan("first_success", ("chat",))
