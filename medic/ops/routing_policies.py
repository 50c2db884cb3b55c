"""Routing policies (SRE-10, SRE-12): ordered rules choosing targets by priority and
by working hours; `all` notifies every chosen target, `first_success` tries them in
order until one accepts. The policy named `default` routes services that name none.

Rules are checked against what exists when written (targets, schedules), so a policy
never points at nothing; deleting what a policy or a service uses is refused. The
preview shows which targets the delivery engine would pick at a given instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from medic.core.nagging import clean_repeat
from medic.models import NotificationTarget, RoutingPolicy, Service, WorkingHours
from medic.models.columns import utcnow
from medic.ops import config_history
from medic.ops.errors import Conflict, InvalidInput
from medic.ops.fields import ServiceRef, utc_instant
from medic.ops.named import Name, ensure_new, find, insert, names_list
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page
from medic.ops.routing_plan import choose_policy, plan_for
from medic.ops.service_commands import PRIORITIES
from medic.ops.services import find_service

WHAT = "routing policy"
MAX_RULES = 50
MAX_TARGETS = 20
# Names the delivery engine understands without a row (medic.notify.planning): the
# team's Slack channel (else SLACK_CHANNEL_ID) and PAGERDUTY_ROUTING_KEY.
BUILT_IN_TARGETS = ("slack", "pagerduty")
NO_POLICY = (
    "no routing policy applies (the service names none and there is no 'default' "
    "policy): the built-in targets, slack (the team's channel, else SLACK_CHANNEL_ID) "
    "and pagerduty (PAGERDUTY_ROUTING_KEY), each when configured"
)


class RuleIn(BaseModel):
    """One rule: send to `targets` when the priority is one of `priorities` (any if
    null) and the instant is `during` or `after` the `working_hours` (any if null)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    targets: list[Name] = Field(min_length=1, max_length=MAX_TARGETS)
    priorities: list[str] | None = None
    hours: Literal["during", "after"] | None = None
    working_hours: Name | None = None
    repeat_every: str | None = Field(
        default=None,
        max_length=16,
        description="send an open, unacknowledged alert to these targets again this often "
        "(e.g. 30m) until acknowledged, muted or resolved; pagers are left out",
    )

    _repeat_every = field_validator("repeat_every")(clean_repeat)

    @field_validator("priorities")
    @classmethod
    def _priorities(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one priority, or be null for any")
        lowered = [p.lower() for p in value]
        wrong = [p for p in value if p.lower() not in PRIORITIES]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: use {', '.join(PRIORITIES)}")
        return [p for p in PRIORITIES if p in lowered]

    @model_validator(mode="after")
    def _hours(self) -> RuleIn:
        if (self.hours is None) != (self.working_hours is None):
            raise ValueError(
                "hours ('during' or 'after') and working_hours (a schedule's name) "
                "go together: give both or neither"
            )
        self.targets = list(dict.fromkeys(self.targets))
        return self


class PolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["all", "first_success"] | None = None
    rules: list[RuleIn] | None = Field(default=None, min_length=1, max_length=MAX_RULES)


class CreatePolicy(PolicyFields, Command):
    name: Name = Field(max_length=255)
    mode: Literal["all", "first_success"] = "all"  # type: ignore[assignment]
    rules: list[RuleIn] = Field(min_length=1, max_length=MAX_RULES)  # type: ignore[assignment]

    def audit_target(self) -> tuple[str | None, object]:
        return "routing_policy", self.name


config_history.track("routing_policy", CreatePolicy)


class PolicyChanges(PolicyFields):
    """Fields left out stay; new `rules` replace the old ones whole."""


class PolicyCommand(Command):
    """A command about one routing policy, by its exact name."""

    name: str

    def audit_target(self) -> tuple[str | None, object]:
        return "routing_policy", self.name


class UpdatePolicy(PolicyCommand):
    changes: PolicyChanges


class DeletePolicy(PolicyCommand):
    """Refused while services name the policy (deleting `default` is allowed: services
    naming none then get the built-in Slack and PagerDuty defaults)."""


class GetPolicy(PolicyCommand):
    pass


class ListPolicies(Command):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


def _instant(value: object) -> object:
    """An ISO 8601 time with its offset. A `+` in a query string decodes to a space:
    `10:00:00 05:00` meant `10:00:00+05:00`."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(
            re.sub(r"(T[\d:.]+) (\d\d:?\d\d)$", r"\1+\2", value.strip())
        )
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    return parsed


class PreviewRoute(Command):
    """Where a service's alerts would go at `at` (default now)."""

    service: ServiceRef
    at: datetime | None = Field(default=None, description="ISO 8601 with an offset")

    _at = field_validator("at", mode="before")(_instant)

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("needs a UTC offset, e.g. 2027-03-15T10:00:00-04:00 or ...Z")
        return None if value is None else utc_instant(value)


class PolicyView(BaseModel):
    policy_id: int
    name: str
    mode: str
    rules: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, policy: RoutingPolicy) -> PolicyView:
        return cls.model_validate(policy.model_dump())


class RoutePreview(BaseModel):
    service_id: int
    heartbeat_name: str
    priority: str
    at: datetime
    policy: str | None = Field(description="null: no policy applies, built-in defaults")
    source: str = Field(description="service, default, or none")
    mode: str
    targets: list[str] = Field(description="in the order they are notified")
    skipped: list[str] = Field(description="chosen but disabled or unknown: not notified")
    note: str | None = None


def _documents(session: Session, rules: list[RuleIn]) -> list[dict[str, Any]]:
    """The rules as stored, once every name they use is known to exist."""
    target_names = sorted({name for rule in rules for name in rule.targets})
    hour_names = sorted({rule.working_hours for rule in rules if rule.working_hours})
    known = set(
        session.exec(
            select(NotificationTarget.name).where(col(NotificationTarget.name).in_(target_names))
        ).all()
    )
    missing = [n for n in target_names if n not in known and n not in BUILT_IN_TARGETS]
    if missing:
        raise InvalidInput(f"rules name unknown notification targets: {names_list(missing)}")
    known = set(
        session.exec(select(WorkingHours.name).where(col(WorkingHours.name).in_(hour_names))).all()
    )
    missing = [n for n in hour_names if n not in known]
    if missing:
        raise InvalidInput(f"rules name unknown working hours: {names_list(missing)}")
    # A rule without repeats is stored as before repeats existed.
    return [
        rule.model_dump(exclude={"repeat_every"} if rule.repeat_every is None else None)
        for rule in rules
    ]


@operation("routing_policy.create", scope="admin", audit="routing_policy.create")
def create_policy(call: Call, command: CreatePolicy) -> PolicyView:
    session = call.session
    ensure_new(session, RoutingPolicy, command.name, WHAT)
    policy = RoutingPolicy(
        name=command.name, mode=command.mode, rules=_documents(session, command.rules)
    )
    insert(session, policy, WHAT)
    config_history.created(call, "routing_policy", policy)
    call.audit(
        "routing_policy",
        policy.policy_id,
        name=policy.name,
        mode=policy.mode,
        rules=policy.rules,
    )
    return PolicyView.of(policy)


@operation("routing_policy.update", scope="admin", audit="routing_policy.update")
def update_policy(call: Call, command: UpdatePolicy) -> PolicyView:
    changes = command.changes
    values = changes.model_dump(exclude_unset=True)
    if not values:
        raise InvalidInput("no fields to update")
    for field in ("mode", "rules"):
        if field in values and values[field] is None:
            raise InvalidInput(f"{field} must not be null")
    session = call.session
    policy = find(session, RoutingPolicy, command.name, WHAT, lock=True)
    configured = config_history.snapshot("routing_policy", policy)
    before = {"mode": policy.mode, "rules": policy.rules}
    if changes.mode is not None:
        policy.mode = changes.mode
    if changes.rules is not None:
        policy.rules = _documents(session, changes.rules)
    policy.updated_at = utcnow()
    session.add(policy)
    config_history.changed(call, "routing_policy", policy, configured)
    call.audit(
        "routing_policy",
        policy.policy_id,
        name=policy.name,
        before=before,
        after={"mode": policy.mode, "rules": policy.rules},
    )
    return PolicyView.of(policy)


def services_using(session: Session, name: str) -> list[str]:
    return list(
        session.exec(
            select(Service.heartbeat_name)
            .where(Service.routing_policy == name)
            .order_by(col(Service.heartbeat_name))
        ).all()
    )


@operation("routing_policy.delete", scope="admin", audit="routing_policy.delete")
def delete_policy(call: Call, command: DeletePolicy) -> PolicyView:
    """Refused while services name the policy (deleting `default` is allowed: services
    naming none then get the built-in Slack and PagerDuty defaults)."""
    policy = find(call.session, RoutingPolicy, command.name, WHAT, lock=True)
    users = services_using(call.session, policy.name)
    if users:
        raise Conflict(
            f"routing policy {policy.name!r} is used by {len(users)} "
            f"service{'s' if len(users) > 1 else ''} ({names_list(users)}); "
            "change their routing_policy first"
        )
    deleted = PolicyView.of(policy)
    config_history.deleted(call, "routing_policy", policy)
    call.audit("routing_policy", policy.policy_id, name=policy.name)
    call.session.delete(policy)
    return deleted


@operation("routing_policy.get", scope="read")
def get_policy(call: Call, command: GetPolicy) -> PolicyView:
    return PolicyView.of(find(call.session, RoutingPolicy, command.name, WHAT))


@operation("routing_policy.list", scope="read")
def list_policies(call: Call, query: ListPolicies) -> tuple[list[PolicyView], int]:
    """By name."""
    rows, total = fetch_page(
        call.session, select(RoutingPolicy), [col(RoutingPolicy.name)], query.limit, query.offset
    )
    return [PolicyView.of(row) for row in rows], total


@operation("routing_policy.preview", scope="read")
def route_preview(call: Call, command: PreviewRoute) -> RoutePreview:
    """Which policy routes the service's alerts at `at` (default now), in which mode,
    to which targets: what the delivery engine would decide (medic.ops.routing_plan)."""
    at = (command.at or datetime.now(UTC)).astimezone(UTC)
    session = call.session
    service = find_service(session, command.service)
    chosen = choose_policy(session, service)
    if chosen is None:
        return RoutePreview(
            service_id=service.service_id,  # type: ignore[arg-type]
            heartbeat_name=service.heartbeat_name,
            priority=service.priority,
            at=at,
            policy=None,
            source="none",
            mode="all",
            targets=list(BUILT_IN_TARGETS),
            skipped=[],
            note=NO_POLICY,
        )
    plan = plan_for(session, chosen.policy, service.priority, at)
    rows = {
        row.name: row
        for row in session.exec(
            select(NotificationTarget).where(col(NotificationTarget.name).in_(plan.targets))
        ).all()
    }
    usable = [
        name
        for name in plan.targets
        if (name in rows and rows[name].enabled) or (name not in rows and name in BUILT_IN_TARGETS)
    ]
    return RoutePreview(
        service_id=service.service_id,  # type: ignore[arg-type]
        heartbeat_name=service.heartbeat_name,
        priority=service.priority,
        at=at,
        policy=chosen.policy.name,
        source=chosen.source,
        mode=plan.mode,
        targets=usable,
        skipped=[name for name in plan.targets if name not in usable],
    )
