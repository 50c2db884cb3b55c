"""The tables. One module per concept; import from here."""

from medic.models.alert import Alert
from medic.models.api_key import ApiKey
from medic.models.audit import AuditEntry
from medic.models.heartbeat import HeartbeatEvent
from medic.models.service import Service
from medic.models.team import Team

__all__ = ["Alert", "ApiKey", "AuditEntry", "HeartbeatEvent", "Service", "Team"]
