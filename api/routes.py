"""ROUTERS: the one place the API's routers are listed (each domain adds its line here).

The push endpoints (``/ingest/<codec>``) are built in api/app.py: they need the codec registry
made from the settings.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.routes import router as auth_router
from api.health import router as health_router
from api.organisations.routes import router as organisations_router
from api.users.routes import router as users_router

ROUTERS: list[APIRouter] = [
    health_router,
    auth_router,
    users_router,
    organisations_router,
]
