"""Fixtures for sender tests: the fakes, and Messages built without a database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from medic.notify.message import AlertFacts, Message, ServiceFacts, WindowFacts

OPENED_AT = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
RESOLVED_AT = datetime(2026, 11, 23, 14, 35, tzinfo=UTC)

MakeMessage = Callable[..., Message]


@pytest.fixture
def make_message() -> MakeMessage:
    """`make_message(kind="alert.opened", **overrides)`: a realistic Message for the
    kind; overrides replace Message fields (`service=`, `details=` …), and
    `service_overrides=` / `alert_overrides=` replace fields of the facts."""

    def make(kind: str = "alert.opened", **overrides: Any) -> Message:
        service_overrides = overrides.pop("service_overrides", {})
        alert_overrides = overrides.pop("alert_overrides", {})
        resolved = kind == "alert.resolved"
        service = ServiceFacts(
            service_id=7,
            heartbeat_name="nightly-etl",
            service_name="ETL",
            team="data",
            priority="p2",
            runbook="https://wiki.example.com/runbooks/etl",
            state="up" if resolved else "down",
            state_reason=None if resolved else "no heartbeat for 12 minutes (interval 5m)",
            state_changed_at=RESOLVED_AT if resolved else OPENED_AT,
            muted=False,
        )
        alert = AlertFacts(
            alert_id=31,
            alert_name="ETL is down",
            alert_cycle=1,
            created_date=OPENED_AT,
            closed_date=RESOLVED_AT if resolved else None,
            active=not resolved,
        )
        fields: dict[str, Any] = {
            "kind": kind,
            "notification_id": 1042,
            "created_at": RESOLVED_AT if resolved else OPENED_AT,
            "medic_url": "https://medic.example.com",
            "service": replace(service, **service_overrides),
            "alert": replace(alert, **alert_overrides),
            "details": {"reason": service.state_reason} if service.state_reason else {},
        }
        if kind.startswith("maintenance."):
            fields |= {
                "service": None,
                "alert": None,
                "details": {},
                "window": WindowFacts(
                    window_id=3,
                    name="db patching",
                    reason="monthly OS updates",
                    service_ids=[7],
                    ends_at=datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
                ),
            }
        return Message(**(fields | overrides))

    return make
