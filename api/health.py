"""``/healthz`` (the process answers), ``/readyz`` (database and broker reachable)."""

from __future__ import annotations

import queue
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import get_pool
from core.broker_auth import API_READY_CLIENT, service_client_id
from core.config import MqttEndpoint

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health() -> dict[str, str]:
    """Liveness: the process serves requests (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
def read_readiness(request: Request) -> JSONResponse:
    """Readiness: a query on the database and an MQTT CONNECT to the broker both succeed."""
    settings = request.app.state.settings
    # Bound accounts (core/broker_auth.py): the probe's account is its fixed client id.
    client_id = (
        service_client_id(API_READY_CLIENT, settings.mqtt_client_suffix)
        if settings.mqtt_account_per_client
        else f"{API_READY_CLIENT}-{uuid.uuid4().hex[:8]}"
    )
    checks = {
        "database": _check_database(request),
        "broker": check_broker(
            settings.mqtt_for(client_id), client_id=client_id, timeout=settings.api_readyz_timeout_s
        ),
    }
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
def read_metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _check_database(request: Request) -> str:
    try:
        timeout = request.app.state.settings.api_readyz_timeout_s
        with get_pool(request).connection(timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason is the class name
        return f"error: {type(exc).__name__}"
    return "ok"


def check_broker(endpoint: MqttEndpoint, *, client_id: str, timeout: float) -> str:
    """ "ok" when the broker accepts an MQTT CONNECT with the service's credentials."""
    answers: queue.Queue[Any] = queue.Queue()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    client.on_connect = lambda c, u, f, rc, p: answers.put(rc)
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set()
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=10)
        client.loop_start()
        try:
            rc = answers.get(timeout=timeout)
        finally:
            client.disconnect()
            client.loop_stop()
    except queue.Empty:
        return "error: no CONNACK"
    except (OSError, ValueError) as exc:
        return f"error: {type(exc).__name__}"
    return "ok" if not rc.is_failure else f"error: refused ({rc})"
