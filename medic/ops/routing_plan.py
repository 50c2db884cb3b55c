"""Which targets a service's notification goes to at an instant, read from the tables.

The delivery engine calls `load_plan` inside its own transaction (no actor check:
it acts as the system); the preview API calls it too, so a person sees exactly what
the engine would do. The decision itself is the pure medic.core.routing.plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from medic.core.routing import Plan, RoutingRule, plan
from medic.core.working_hours import WorkingHoursRule, parse_clock
from medic.models import RoutingPolicy, Service, WorkingHours

log = logging.getLogger(__name__)

DEFAULT_POLICY = "default"


@dataclass(frozen=True)
class ChosenPolicy:
    policy: RoutingPolicy
    # "service": the service names it; "default": the policy named `default`.
    source: str


def working_hours_rule(row: WorkingHours) -> WorkingHoursRule:
    return WorkingHoursRule(
        timezone=row.timezone,
        days=tuple(row.days),
        start=parse_clock(row.start),
        end=parse_clock(row.end),
        holidays_country=row.holidays_country,
        holidays_subdivision=row.holidays_subdivision,
    )


def choose_policy(session: Session, service: Service | None) -> ChosenPolicy | None:
    """The service's own policy, else `default`; None when neither exists. A policy
    named but missing (deleted under a race) falls back to `default`: alert, not drop."""
    named = service.routing_policy if service is not None else None
    if named:
        policy = _policy(session, named)
        if policy is not None:
            return ChosenPolicy(policy, "service")
        log.warning("service %s names routing policy %r, which does not exist", service, named)
    policy = _policy(session, DEFAULT_POLICY)
    return None if policy is None else ChosenPolicy(policy, "default")


def _policy(session: Session, name: str) -> RoutingPolicy | None:
    return session.exec(select(RoutingPolicy).where(RoutingPolicy.name == name)).first()


def rules_of(policy: RoutingPolicy) -> list[RoutingRule]:
    rules = []
    for document in policy.rules:
        try:
            rules.append(RoutingRule.of(document))
        except (KeyError, TypeError):
            log.warning("routing policy %r has a malformed rule: %r", policy.name, document)
    return rules


def plan_for(session: Session, policy: RoutingPolicy, priority: str, instant: datetime) -> Plan:
    rules = rules_of(policy)
    wanted = sorted({r.working_hours for r in rules if r.working_hours})
    schedules = {
        row.name: working_hours_rule(row)
        for row in session.exec(
            select(WorkingHours).where(col(WorkingHours.name).in_(wanted))
        ).all()
    }
    return plan(policy.mode, rules, priority, instant, schedules.get)


def load_plan(session: Session, service: Service | None, instant: datetime) -> Plan | None:
    """The plan for a notification about `service` (None: about no one service, e.g. a
    window over all of them) at `instant`: mode and target names in order. None when
    no policy applies (the service names none and there is no `default` policy).

    Without a service there is no priority, so only rules without a priority
    condition can match."""
    chosen = choose_policy(session, service)
    if chosen is None:
        return None
    priority = service.priority if service is not None else ""
    return plan_for(session, chosen.policy, priority, instant)
