"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

Two layers: the compose-spec JSON schema (the copy that the check-jsonschema package ships,
so nothing is vendored here; deploy/schemas/README.md says where it comes from) catches unknown
keys and wrong shapes; our own rules below catch what a schema cannot: a depends_on naming
nothing, an undocumented or unknown SMOKEWATCH_ variable, an unpinned image, a secret inline.
"""

from __future__ import annotations

import importlib
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_DOCS = [ROOT / ".env.example", ROOT / "deploy" / "compose" / "compose.env.example"]
SETTINGS = [
    ("core.config", "CommonSettings"),
    ("ingest.settings", "IngestSettings"),
    ("alerting.settings", "AlertingSettings"),
    ("device_sim.settings", "SimSettings"),
    ("core.broker_setup", "BrokerSetupSettings"),
    ("api.settings", "ApiSettings"),
]
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def documented_variables() -> set[str]:
    names = set()
    for path in ENV_DOCS:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
            if match:
                names.add(match.group(1))
    return names


def known_settings() -> tuple[set[str], bool]:
    """Every SMOKEWATCH_ variable some settings class reads; False if one class is missing."""
    names, complete = set(), True
    for module, cls in SETTINGS:
        try:
            fields = getattr(importlib.import_module(module), cls).model_fields
        except ImportError:
            complete = False
            continue
        names |= {f"SMOKEWATCH_{name.upper()}" for name in fields}
    return names, complete


def test_validate_compose_file_against_compose_spec_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    vendor = pytest.importorskip("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(resources.files(vendor).joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)  # draft 2020-12 today
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert list(validator.iter_errors({"services": {"a": {"helthcheck": {}}}})), "lax schema"
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_depends_on_names_existing_services_with_conditions() -> None:
    for name, service in services().items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services(), f"{name} depends on unknown service {target}"
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services()[target], f"{target} has no health check"


def test_long_running_services_have_health_checks_and_one_shots_do_not_restart() -> None:
    for name, service in services().items():
        if service.get("restart") == "no":
            continue
        assert "healthcheck" in service, f"{name} has no health check"


def test_every_variable_is_documented_and_read_by_a_service() -> None:
    documented = documented_variables()
    known, complete = known_settings()
    text = COMPOSE.read_text(encoding="utf-8")
    for variable in INTERPOLATION.findall(text):
        assert variable in documented, f"${{{variable}}} is not in an env example"
    for name, service in services().items():
        for variable in service.get("environment") or {}:
            if not variable.startswith("SMOKEWATCH_") or "_EMQX_" in variable:
                continue
            if "_GRAFANA_" in variable:
                continue
            assert variable in documented, f"{name}: {variable} is not documented"
            if complete or not variable.startswith("SMOKEWATCH_API_"):
                assert variable in known, f"{name}: no settings class reads {variable}"


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = service.get("image", "")
        if "build" in service:
            continue
        tag = image.rpartition(":")[2] if ":" in image else ""
        assert re.search(r"\d+\.\d+", tag), f"{name}: image {image!r} is not pinned to a version"
    froms = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert froms and all(re.search(r":\d+\.\d+\.\d+", image) for image in froms)


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    final_stage = text.rsplit("\nFROM ", 1)[1]
    users = re.findall(r"^USER (\S+)", final_stage, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_no_secret_is_written_inline() -> None:
    for name, service in services().items():
        for variable, raw in (service.get("environment") or {}).items():
            value = str(raw)
            if SECRET_NAME.search(variable):
                assert INTERPOLATION.fullmatch(value), f"{name}: {variable} is inline"
            passwords = re.findall(r"://[^:/@\s]+:(\$\{[^}]*\}|[^@\s]+)@", value)
            if "URL" in variable and "@" in value:
                assert passwords, f"{name}: cannot read the password in {variable}"
            for password in passwords:
                assert INTERPOLATION.fullmatch(password), f"{name}: {variable} has a password"
