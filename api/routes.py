"""ROUTERS: the one place the API's routers are listed (each domain adds its line here).

The push endpoints (``/ingest/<codec>``) are built in api/app.py: they need the codec registry
made from the settings.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.routes import router as auth_router
from api.callbacks.routes import router as callbacks_router
from api.commands.routes import router as commands_router
from api.commissioning.routes import router as commissioning_router
from api.contacts.routes import router as contacts_router
from api.device_health.routes import router as device_health_router
from api.devices.routes import router as devices_router
from api.events.routes import router as events_router
from api.handover.routes import router as handover_router
from api.health import router as health_router
from api.incidents.routes import router as incidents_router
from api.live.routes import router as live_router
from api.organisations.routes import router as organisations_router
from api.pages import router as pages_router
from api.readings.routes import router as readings_router
from api.relative.routes import router as relative_router
from api.roster.routes import router as roster_router
from api.sites.routes import router as sites_router
from api.summary.routes import router as summary_router
from api.users.routes import router as users_router
from api.work_orders.routes import router as work_orders_router

ROUTERS: list[APIRouter] = [
    health_router,
    callbacks_router,
    auth_router,
    users_router,
    organisations_router,
    sites_router,
    contacts_router,
    devices_router,
    commissioning_router,
    roster_router,
    device_health_router,
    incidents_router,
    handover_router,
    work_orders_router,
    commands_router,
    events_router,
    readings_router,
    summary_router,
    live_router,
    relative_router,
    pages_router,
]
