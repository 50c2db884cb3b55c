"""Alert history as people browse it (the dashboard's Alerts page): open or closed, by
service name, by team, opened within a period, each alert with its service's name and
team so a page needs no second query per row."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator
from sqlmodel import col, select

from medic.models import Alert, Service
from medic.ops.alerts import AlertView
from medic.ops.fields import FilterText, InstantBound
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page


class AlertHistory(Command):
    """Filters (all optional): `active`, part of the service's name, its team, and the
    period the alert was opened in (`since` included, `until` excluded)."""

    active: bool | None = Field(default=None, description="open (true) or closed (false) only")
    service: FilterText | None = Field(default=None, description="part of a heartbeat name")
    team: FilterText | None = None
    since: InstantBound | None = Field(default=None, description="opened at or after")
    until: InstantBound | None = Field(default=None, description="opened before")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=2**62)

    @model_validator(mode="after")
    def _period(self) -> AlertHistory:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class AlertRow(BaseModel):
    alert: AlertView
    heartbeat_name: str
    team: str


class AlertHistoryPage(BaseModel):
    rows: list[AlertRow]
    total: int
    teams: list[str] = Field(description="every team a service names, for the filter")


@operation("alert.history", scope="read")
def alert_history(call: Call, query: AlertHistory) -> AlertHistoryPage:
    """Newest first."""
    statement = select(Alert, Service.heartbeat_name, Service.team).join(
        Service, col(Service.service_id) == col(Alert.service_id)
    )
    if query.active is not None:
        statement = statement.where(Alert.active == query.active)
    if query.service:
        statement = statement.where(
            col(Service.name_key).contains(query.service.lower(), autoescape=True)
        )
    if query.team:
        statement = statement.where(Service.team == query.team)
    if query.since is not None:
        statement = statement.where(col(Alert.created_date) >= query.since)
    if query.until is not None:
        statement = statement.where(col(Alert.created_date) < query.until)
    found, total = fetch_page(
        call.session, statement, [col(Alert.alert_id).desc()], query.limit, query.offset
    )
    teams = call.session.exec(select(Service.team).distinct().order_by(col(Service.team))).all()
    rows = [AlertRow(alert=AlertView.of(a), heartbeat_name=n, team=t) for a, n, t in found]
    return AlertHistoryPage(rows=rows, total=total, teams=list(teams))
