"""Schemathesis against the app's own OpenAPI: no input an administrator can send gets a 5xx,
and every JSON 4xx carries the one error body shape.

The operations are read from ``create_app(...).openapi()`` at collection time (building the
app touches no server), one test per operation, so routers added to api/routes.py are covered
without touching this file. Each operation gets ``MAX_EXAMPLES`` valid and
``NEGATIVE_EXAMPLES`` invalid generated requests, sent through ``api_client`` (one app with its
lifespan running, on one database for this module with a small hierarchy, users and a key).
An operation without parameters has no invalid requests to generate; that half is skipped.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.app import create_app
from api.security import issue_token
from tests.support.api import ApiModule, ApiUser, ApiWorld, make_api_settings

MAX_EXAMPLES = 20
NEGATIVE_EXAMPLES = 10
# Operations that are not JSON APIs of ours (bodies are vendor pushes, answers plain text).
SKIPPED_PREFIXES = ("/ingest/",)


def _openapi() -> dict[str, Any]:
    settings = make_api_settings("postgresql://nobody@127.0.0.1:1/none", "mqtt://127.0.0.1:1")
    document: dict[str, Any] = create_app(settings).openapi()
    return document


OPENAPI = _openapi()
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in OPENAPI["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete") and not path.startswith(SKIPPED_PREFIXES)
)


def fresh_headers(api: ApiWorld, admin: ApiUser) -> dict[str, str]:
    """A new token per request: a generated logout or password change must not end the run."""
    row = api.db.execute("SELECT token_version FROM users WHERE id = %s", (admin.id,)).fetchone()
    assert row is not None
    token, _ = issue_token(
        user_id=admin.id,
        version=row["token_version"],
        secret=api.settings.api_secret.get_secret_value(),
        ttl_s=600,
    )
    return {"Authorization": f"Bearer {token}"}


def check_response(api_client: TestClient, case: Any, headers: dict[str, str]) -> None:
    api_client.cookies.clear()
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    kwargs.pop("cookies", None)
    if isinstance(kwargs.get("data"), bytes | str):  # raw bodies: httpx's name is content
        kwargs["content"] = kwargs.pop("data")
    response = api_client.request(**kwargs)
    # Checked here rather than with schemathesis' not_a_server_error, which reads the request
    # back: a multipart request's body is a consumed stream by then.
    assert response.status_code < 500, (
        f"{kwargs['method']} {kwargs['url']} -> {response.status_code}: {response.text[:500]}"
    )
    is_json = response.headers.get("content-type", "").startswith("application/json")
    if 400 <= response.status_code < 500 and is_json:
        error = response.json().get("error")
        assert isinstance(error, dict), response.text
        assert error.get("code") and error.get("message"), response.text


@pytest.fixture(scope="module")
def fuzz_admin(api_module: ApiModule) -> ApiUser:
    """The administrator calling; the module's world gets a hierarchy, a user and a key."""
    api_module.api.tree()
    api_module.api.create_user("operator")
    api_module.api.create_api_key("viewer")
    return api_module.api.create_user("administrator")


@pytest.mark.parametrize("label", OPERATIONS)
def test_call_operation_no_server_error(
    label: str, api_module: ApiModule, fuzz_admin: ApiUser
) -> None:
    method, path = label.split(" ", 1)
    operation = schemathesis.openapi.from_dict(OPENAPI)[path][method]
    client, api = api_module.client, api_module.api

    for mode, count in ((GenerationMode.POSITIVE, MAX_EXAMPLES),
                        (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):  # fmt: skip

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=count,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            check_response(client, case, fresh_headers(api, fuzz_admin))

        try:
            run()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
