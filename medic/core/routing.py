"""Routing: which targets a notification goes to, decided from rules alone.

A policy is an ordered list of rules. A rule matches when the service's priority is
one it names (or it names none) and the instant is inside, or outside, the working
hours it names (or it names none). The targets of every matching rule, in rule
order and without repeats, are the plan; `first_success` mode tries them one by one
until one accepts, `all` sends to each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from medic.core.working_hours import WorkingHoursRule, is_working_time

TARGET_KINDS = (
    "slack",
    "pagerduty",
    "webhook",
    "email",
    "discord",
    "sms",
    "msteams",
    "opsgenie",
    "telegram",
    "ntfy",
    "google_chat",
    "mattermost",
)
MODES = ("all", "first_success")
Hours = Literal["during", "after"]


@dataclass(frozen=True)
class RoutingRule:
    targets: tuple[str, ...]
    priorities: frozenset[str] | None = None
    hours: Hours | None = None
    working_hours: str | None = None
    # Send an open, unacknowledged alert to these targets again this often (medic.core.nagging).
    repeat_every: str | None = None

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> RoutingRule:
        priorities = document.get("priorities")
        return cls(
            targets=tuple(document["targets"]),
            priorities=frozenset(priorities) if priorities else None,
            hours=document.get("hours"),
            working_hours=document.get("working_hours"),
            repeat_every=document.get("repeat_every"),
        )


@dataclass(frozen=True)
class Plan:
    mode: str
    targets: tuple[str, ...]
    # Per target, the repeat_every of the first matching rule that names it and sets one.
    repeats: tuple[tuple[str, str], ...] = ()


def rule_matches(
    rule: RoutingRule,
    priority: str,
    instant: datetime,
    working_hours: Callable[[str], WorkingHoursRule | None],
) -> bool:
    if rule.priorities is not None and priority not in rule.priorities:
        return False
    if rule.hours is None or rule.working_hours is None:
        return True
    schedule = working_hours(rule.working_hours)
    if schedule is None:
        # A schedule deleted after the rule was written: alert rather than drop.
        return True
    inside = is_working_time(schedule, instant)
    return inside if rule.hours == "during" else not inside


def plan(
    mode: str,
    rules: Sequence[RoutingRule],
    priority: str,
    instant: datetime,
    working_hours: Callable[[str], WorkingHoursRule | None],
) -> Plan:
    chosen: list[str] = []
    repeats: dict[str, str] = {}
    for rule in rules:
        if rule_matches(rule, priority, instant, working_hours):
            chosen.extend(name for name in rule.targets if name not in chosen)
            if rule.repeat_every:
                for name in rule.targets:
                    repeats.setdefault(name, rule.repeat_every)
    return Plan(mode=mode, targets=tuple(chosen), repeats=tuple(repeats.items()))
