"""/docs without internet, and HSTS in production over HTTPS (issue 15)."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from devtools.localservers import LocalMosquitto
from tests.support.api import make_api_settings

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_read_docs_loads_nothing_from_elsewhere(api_server: str, page: str) -> None:
    html = httpx.get(api_server + page)
    assert html.status_code == 200
    assets = [a or b for a, b in ASSET.findall(html.text)]
    assert assets, "the page names no asset"
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        assert httpx.get(api_server + asset).status_code == 200, asset
    assert "cdn" not in html.text.lower()


@pytest.mark.parametrize(
    "case",
    [
        ("production", "https://smokewatch.example.org", "http", True),  # behind a TLS proxy
        ("production", "http://10.0.0.5:8000", "https", True),  # TLS seen by uvicorn
        ("production", "http://10.0.0.5:8000", "http", False),  # plain HTTP: meaningless
        ("development", "https://smokewatch.example.org", "https", False),
    ],
)
def test_read_health_hsts_only_in_production_over_https(
    database_url: str, mqtt_broker: LocalMosquitto, case: tuple[str, str, str, bool]
) -> None:
    environment, public_url, scheme, hsts = case
    settings = make_api_settings(
        database_url, mqtt_broker.url, environment=environment, api_public_url=public_url,
        api_secret=secrets.token_urlsafe(40), ack_secret=secrets.token_urlsafe(40),
        ctwing_push_token=secrets.token_urlsafe(40),
    )  # fmt: skip
    client = TestClient(create_app(settings), base_url=f"{scheme}://testserver")
    response = client.get("/healthz")
    assert response.status_code == 200
    header = response.headers.get("strict-transport-security")
    assert (header == "max-age=31536000; includeSubDomains") is hsts, header
