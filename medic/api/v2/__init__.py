"""v2: REST resources for everything new."""

from fastapi import APIRouter

from medic.api.v2 import alerts, audit, heartbeats, keys, services

router = APIRouter(prefix="/v2")
for module in (services, heartbeats, keys, alerts, audit):
    router.include_router(module.router)
