"""Report heartbeats and job runs to Medic from Python (docs/clients.md).

    from medic.client import Client, monitor

    Client("https://medic.example.com", key).heartbeat("billing-api")

    @monitor("nightly-etl", schedule="0 2 * * *", timezone="Europe/Paris")
    def nightly_etl() -> None: ...

It imports only the standard library and httpx, never the server's modules (FastAPI,
SQLModel, the settings), and never raises into the job it reports on unless asked.
"""

from medic.client.async_client import AsyncClient
from medic.client.calls import Job, MonitorConfig
from medic.client.monitor import Run, monitor
from medic.client.report import MedicError, Report
from medic.client.retry import Retry
from medic.client.sync_client import Client

__all__ = [
    "AsyncClient",
    "Client",
    "Job",
    "MedicError",
    "MonitorConfig",
    "Report",
    "Retry",
    "Run",
    "monitor",
]
