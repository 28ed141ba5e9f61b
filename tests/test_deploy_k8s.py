"""deploy/k8s/ checked offline by a strict structural check (no upstream schema vendored).

For the kinds we write: the right apiVersion, required fields, no unknown keys at the levels we
use (a typo such as ``readinesProbe`` fails), selectors that select their own pods, probes on
declared ports, secret and config references that resolve, HPA and PDB targets that exist,
pinned images, non-root pods, and SMOKEWATCH_ variables some settings class reads.
"""

from __future__ import annotations

import importlib
import os
import re
import secrets as secrets_module
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.test_deploy_compose import known_settings

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
API_VERSIONS = {
    "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "Job": "batch/v1",
    "Deployment": "apps/v1", "StatefulSet": "apps/v1", "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1", "EMQX": "apps.emqx.io/v2beta1",
}  # fmt: skip
TOP = {"apiVersion", "kind", "metadata", "spec", "data", "stringData", "type"}
SPEC_KEYS = {
    "Deployment": {"replicas", "selector", "strategy", "template", "minReadySeconds"},
    "StatefulSet": {"serviceName", "replicas", "podManagementPolicy", "selector", "template",
                    "updateStrategy"},
    "Job": {"backoffLimit", "ttlSecondsAfterFinished", "template", "activeDeadlineSeconds"},
    "Service": {"type", "clusterIP", "selector", "ports", "externalName"},
    "HorizontalPodAutoscaler": {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics",
                                "behavior"},
    "PodDisruptionBudget": {"minAvailable", "maxUnavailable", "selector"},
    "EMQX": {"image", "coreTemplate", "replicantTemplate", "config", "listenersServiceTemplate"},
}  # fmt: skip
POD_SPEC = {"containers", "securityContext", "terminationGracePeriodSeconds", "restartPolicy",
            "serviceAccountName", "affinity", "topologySpreadConstraints"}  # fmt: skip
CONTAINER = {"name", "image", "args", "command", "ports", "env", "envFrom", "livenessProbe",
             "readinessProbe", "startupProbe", "resources", "securityContext"}  # fmt: skip
PROBE = {"httpGet", "periodSeconds", "failureThreshold", "initialDelaySeconds", "timeoutSeconds"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


@cache
def documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found.append((path.name, doc))
    return tuple(found)


def of_kind(*kinds: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents() if doc["kind"] in kinds]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["spec"]["template"]["spec"]["containers"]


def test_every_document_has_a_known_kind_and_shape() -> None:
    assert len(documents()) >= 12
    for name, doc in documents():
        kind = doc["kind"]
        assert doc["apiVersion"] == API_VERSIONS[kind], f"{name}: {kind} {doc['apiVersion']}"
        assert set(doc) <= TOP, f"{name}: unknown top-level keys {set(doc) - TOP}"
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "smokewatch"
        if kind in SPEC_KEYS:
            extra = set(doc["spec"]) - SPEC_KEYS[kind]
            assert not extra, f"{name}: unknown {kind} spec keys {extra}"


def test_workloads_select_their_own_pods_and_run_unprivileged() -> None:
    for doc in of_kind(*WORKLOADS):
        pod = doc["spec"]["template"]
        if doc["kind"] != "Job":
            selector = doc["spec"]["selector"]["matchLabels"]
            assert selector.items() <= pod["metadata"]["labels"].items(), doc["metadata"]["name"]
        assert set(pod["spec"]) <= POD_SPEC, set(pod["spec"]) - POD_SPEC
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in containers(doc):
            assert set(container) <= CONTAINER, set(container) - CONTAINER
            assert re.search(r":\d+\.\d+\.\d+$", container["image"]), container["image"]
            assert container["resources"]["requests"] and container["resources"]["limits"]


def test_probes_use_declared_ports_and_health_endpoints() -> None:
    for doc in of_kind("Deployment", "StatefulSet"):
        for container in containers(doc):
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in container, f"{container['name']} has no {probe}"
                assert set(container[probe]) <= PROBE
                assert container[probe]["httpGet"]["port"] in ports
    api = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "smokewatch-api")
    probes = containers(api)[0]
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_autoscalers_and_budgets_target_existing_workloads() -> None:
    workloads = {(d["kind"], d["metadata"]["name"]): d for d in of_kind(*WORKLOADS)}
    for hpa in of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        assert (ref["kind"], ref["name"]) in workloads
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    budgets = of_kind("PodDisruptionBudget")
    for budget in budgets:
        wanted = budget["spec"]["selector"]["matchLabels"].items()
        assert any(wanted <= w["spec"]["template"]["metadata"]["labels"].items()
                   for w in workloads.values()), budget["metadata"]["name"]  # fmt: skip
    served = {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for b in budgets}
    assert {"smokewatch-ingest", "smokewatch-alerting", "smokewatch-api"} <= served
    assert any(h["spec"]["scaleTargetRef"]["name"] == "smokewatch-ingest"
               for h in of_kind("HorizontalPodAutoscaler"))  # fmt: skip


def test_config_and_secret_references_resolve_to_settings_we_read() -> None:
    config = {d["metadata"]["name"]: d["data"] for d in of_kind("ConfigMap")}
    secrets = {d["metadata"]["name"]: d["stringData"] for d in of_kind("Secret")}
    known, complete = known_settings()
    variables = {v for data in config.values() for v in data}
    for doc in of_kind(*WORKLOADS):
        for container in containers(doc):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config
            for item in container.get("env", []):
                variables.add(item["name"])
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]], f"{ref} is not in the Secret"
    for variable in variables:
        assert variable.startswith("SMOKEWATCH_"), variable
        if complete or not variable.startswith("SMOKEWATCH_API_"):
            assert variable in known, f"no settings class reads {variable}"


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secret.example.yaml"}


SERVICE_SETTINGS = {
    "ingest": ("ingest.settings", "IngestSettings"),
    "alerting": ("alerting.settings", "AlertingSettings"),
    "api": ("api.settings", "ApiSettings"),
    "migrate": ("core.config", "CommonSettings"),
}


def _workload_environment(container: dict[str, Any], pod: str) -> dict[str, str]:
    """What the container's process sees: the ConfigMap, then its env with the example
    Secret's placeholders replaced by values an operator would generate."""
    config = {d["metadata"]["name"]: d["data"] for d in of_kind("ConfigMap")}
    secrets = {d["metadata"]["name"]: d["stringData"] for d in of_kind("Secret")}
    made = secrets_module.token_hex(16)
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment |= {k: str(v) for k, v in config[source["configMapRef"]["name"]].items()}
    for item in container.get("env", []):
        source = item.get("valueFrom", {})
        if "value" in item:
            environment[item["name"]] = str(item["value"])
        elif "fieldRef" in source:
            assert source["fieldRef"]["fieldPath"] == "metadata.name"
            environment[item["name"]] = pod
        else:
            ref = source["secretKeyRef"]
            value = secrets[ref["name"]][ref["key"]]
            environment[item["name"]] = re.sub(r"REPLACE_?0?ME", made, value)
    return environment


def test_every_workload_starts_in_production_with_the_manifests_settings(monkeypatch) -> None:
    # The settings a pod gets must pass the service's own production checks: a required
    # token left out here is a pod that never starts (ingest used to default to the OneNET
    # codec, which production refuses without SMOKEWATCH_ONENET_TOKEN).
    checked = set()
    for doc in of_kind(*WORKLOADS):
        pod = f"{doc['metadata']['name']}-0"
        for container in containers(doc):
            command = container["args"][0]
            module, name = SERVICE_SETTINGS[command]
            for variable in list(os.environ):
                if variable.startswith("SMOKEWATCH_"):
                    monkeypatch.delenv(variable)
            for variable, value in _workload_environment(container, pod).items():
                monkeypatch.setenv(variable, value)
            settings_class = getattr(importlib.import_module(module), name)
            settings = settings_class()
            assert settings.environment == "production"
            checked.add(command)
    assert checked == set(SERVICE_SETTINGS)
