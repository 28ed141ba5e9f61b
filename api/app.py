"""The FastAPI application: ``create_app(settings)``; ``smokewatch api`` serves it with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from api import push_routes
from api.body_limit import BodyLimitMiddleware
from api.errors import install_error_handlers
from api.headers import SecurityHeadersMiddleware
from api.metrics import MetricsMiddleware
from api.pages.routes import PageFiles
from api.push_routes import PushGuard, RateLimiter
from api.routes import ROUTERS
from api.security import Passwords
from api.settings import ApiSettings
from core.codecs.registry import CodecRegistry, default_registry
from core.db import make_pool

log = logging.getLogger(__name__)

DESCRIPTION = """Smoke-alarm monitoring: registry, commissioning, incidents and access control.

Authenticate with `POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`
(or the `sw_session` cookie it sets); machine clients send an API key as
`Authorization: Bearer swk_...` or `X-API-Key`. Errors have one shape:
`{"error": {"code", "message", "fields"?}}`."""


def create_app(settings: ApiSettings) -> FastAPI:
    """Build the app; the connection pool opens in the lifespan, not here."""
    pool = make_pool(
        settings.database_url,
        min_size=settings.api_pool_min,
        max_size=settings.api_pool_max,
        name="smokewatch-api",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # wait=False: the API starts (and answers /healthz, /readyz 503) while PostgreSQL is
        # still coming up; requests wait for a connection up to api_pool_timeout_s.
        await run_in_threadpool(pool.open, wait=False)
        log.info("API ready (pool of up to %d connections)", settings.api_pool_max)
        try:
            yield
        finally:
            await run_in_threadpool(pool.close)

    # FastAPIOffline: FastAPI with /docs and /redoc served from assets shipped in the package
    # (under /static-offline-docs); a monitoring centre without internet cannot reach a CDN.
    app = FastAPIOffline(
        title="smokewatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.passwords = Passwords.from_settings(settings)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/ui/static", PageFiles(), name="ui-static")
    # After ROUTERS: a page router that serves "/" itself wins over this fallback.
    app.add_api_route("/", _root_redirect, methods=["GET"], include_in_schema=False)
    app.state.push_registry = push_registry(settings)
    app.state.push_guard = push_guard(settings)
    app.include_router(push_routes.router)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    # Before any route or parser: an oversized body is refused before anything reads it (the
    # two added after it wrap it, so its 413 still gets the security headers and is counted).
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.api_max_body_bytes,
        max_upload_bytes=settings.api_max_upload_bytes,
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.environment == "production",
        public_https=settings.api_public_url.startswith("https://"),
    )
    app.add_middleware(MetricsMiddleware)
    return app


def _root_redirect() -> RedirectResponse:
    """``/`` when no page router serves it: the interactive API documentation."""
    return RedirectResponse("/docs", status_code=307)


def push_registry(settings: ApiSettings) -> CodecRegistry:
    """The codecs enabled for ingest, configured the same way (HTTP ones serve pushes)."""
    full = default_registry(settings.codec_config())
    return CodecRegistry([full.get(name) for name in settings.ingest_codecs])


def push_guard(settings: ApiSettings) -> PushGuard:
    """What a push must pass before it is stored: size, sender proof, rate per address."""
    token = settings.ctwing_push_token
    return PushGuard(
        max_bytes=settings.ingest_max_payload_bytes,
        ctwing_token=token.get_secret_value() if token else None,
        ctwing_required=settings.environment == "production",
        limiter=RateLimiter(
            rate_per_s=settings.ingest_push_rate_per_s, burst=settings.ingest_push_burst
        ),
    )
