"""v2: REST resources for everything new."""

from fastapi import APIRouter

from medic.api.v2 import (
    agent,
    agents,
    alerts,
    audit,
    config_history,
    executions,
    heartbeats,
    hooks,
    keys,
    maintenance,
    notifications,
    playbooks,
    routing,
    runs,
    secrets,
    services,
    teams,
)

router = APIRouter(prefix="/v2")
for module in (
    services,
    runs,
    heartbeats,
    keys,
    alerts,
    audit,
    config_history,
    maintenance,
    notifications,
    teams,
    routing,
    playbooks,
    secrets,
    executions,
    hooks,
    agents,
    agent,
):
    router.include_router(module.router)
