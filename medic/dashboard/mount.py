"""Where the dashboard joins the app (medic.app calls `install`): its pages, its static
files, the badges, and `/`. A new page module adds its router to PAGES (and its entry
to medic.dashboard.pages.NAV)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from medic.dashboard import (
    alerts,
    audit,
    badges,
    executions,
    keys,
    maintenance,
    playbook_versions,
    playbooks,
    routing,
    service_detail,
    services,
    sign_in,
    teams,
)
from medic.dashboard.pages import PREFIX, STATIC

PAGES: list[APIRouter] = [
    sign_in.router,
    services.router,
    service_detail.router,
    playbooks.router,
    playbook_versions.router,
    executions.router,
    audit.router,
    alerts.router,
    maintenance.router,
    teams.router,
    routing.router,
    keys.router,
]


def install(app: FastAPI) -> None:
    app.include_router(sign_in.root)
    for router in PAGES:
        app.include_router(router)
    app.include_router(badges.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="dashboard-static")
