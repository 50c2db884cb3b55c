"""The tables. One module per concept; import from here."""

from medic.models.agent import Agent, AgentJob
from medic.models.alert import Alert
from medic.models.api_key import ApiKey
from medic.models.audit import AuditEntry
from medic.models.config_history import ConfigChange
from medic.models.dashboard_session import DashboardSession
from medic.models.delivery import Delivery, DeliveryAttempt
from medic.models.execution import Execution, ExecutionStep
from medic.models.heartbeat import HeartbeatEvent
from medic.models.job_run import JobRun
from medic.models.maintenance import MaintenanceWindow
from medic.models.notification import Notification
from medic.models.periodic_job import PeriodicJob
from medic.models.ping_key import PingKey
from medic.models.playbook import Playbook, PlaybookVersion
from medic.models.reminder import AlertReminder
from medic.models.routing import NotificationTarget, RoutingPolicy, WorkingHours
from medic.models.secret import Secret
from medic.models.service import Service
from medic.models.state_change import StateChange
from medic.models.team import Team

__all__ = [
    "Agent",
    "AgentJob",
    "Alert",
    "AlertReminder",
    "ApiKey",
    "AuditEntry",
    "ConfigChange",
    "DashboardSession",
    "Delivery",
    "DeliveryAttempt",
    "Execution",
    "ExecutionStep",
    "HeartbeatEvent",
    "JobRun",
    "MaintenanceWindow",
    "Notification",
    "NotificationTarget",
    "PeriodicJob",
    "PingKey",
    "Playbook",
    "PlaybookVersion",
    "RoutingPolicy",
    "Secret",
    "Service",
    "StateChange",
    "Team",
    "WorkingHours",
]
