"""The Kubernetes base (deploy/kubernetes), checked on what `kubectl kustomize` renders,
not on the source files: what a cluster would receive runs as an unprivileged user on a
read-only root, keeps the API up through drains, reads secrets only from a Secret the
operator creates, and sets only settings Medic knows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from medic.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes"
WORKLOADS = {"Deployment", "Job", "StatefulSet", "DaemonSet", "CronJob"}
SECRET_LOOKING = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASS$|DATABASE_URL|REDIS_URL")


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        reason = (
            "kubectl is missing: install Debian's kubernetes-client to render deploy/kubernetes"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    result = subprocess.run(
        [kubectl, "kustomize", str(BASE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("initContainers", []) + spec["containers"]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [o for o in objects if o["kind"] in WORKLOADS]
    assert found
    return found


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and selector.items() <= labels.items()


def setting_names() -> set[str]:
    """Every environment variable Settings reads: field names and their aliases."""
    names = set()
    for field_name, field in Settings.model_fields.items():
        names.add(field_name.upper())
        if isinstance(field.validation_alias, AliasChoices):
            names |= {str(choice).upper() for choice in field.validation_alias.choices}
    return names


def config_maps(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}


def test_every_container_runs_unprivileged_on_a_read_only_root(rendered) -> None:
    for workload in workloads(rendered):
        spec = pod_spec(workload)
        pod = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, workload["metadata"]["name"]
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        mounts_tmp = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in containers(spec):
            own = container.get("securityContext", {})
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
            assert own.get("runAsUser", pod.get("runAsUser")) == 10001, where  # the image's uid
            assert own.get("readOnlyRootFilesystem") is True, where
            assert own.get("allowPrivilegeEscalation") is False, where
            assert own.get("capabilities", {}).get("drop") == ["ALL"], where
            assert own.get("privileged") is not True, where
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in mounts_tmp, f"{where}: /tmp must be an emptyDir"
            assert container["image"].split("/")[-1].startswith("medic:"), where


def test_the_api_runs_two_or_more_probed_bounded_spread_replicas(rendered) -> None:
    api = one(rendered, "Deployment", "medic-api")
    assert api["spec"]["replicas"] >= 2
    spec = pod_spec(api)
    (container,) = spec["containers"]
    assert container["args"] == ["api"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in {"http", 8080}
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][bound].keys(), bound
    # Seed 001: 256Mi and 100m for the web server.
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    spread = spec.get("topologySpreadConstraints", [])
    anti = spec.get("affinity", {}).get("podAntiAffinity")
    assert anti or any(
        selects(c["labelSelector"]["matchLabels"], pod_labels(api)) for c in spread
    ), "api replicas must be spread over nodes"


def test_two_workers_and_two_schedulers_run(rendered) -> None:
    for role in ("worker", "scheduler"):
        deployment = one(rendered, "Deployment", f"medic-{role}")
        assert deployment["spec"]["replicas"] == 2
        (container,) = pod_spec(deployment)["containers"]
        assert container["args"] == [role]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= container["resources"][bound].keys(), f"{role} {bound}"


def test_a_job_migrates_the_schema_and_cleans_up(rendered) -> None:
    job = one(rendered, "Job", "medic-migrate")
    (container,) = pod_spec(job)["containers"]
    command = container.get("command", ["medic"]) + container.get("args", [])
    assert command == ["medic", "migrate"]  # the image's entrypoint is `medic`
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert pod_spec(job)["restartPolicy"] in {"OnFailure", "Never"}


def test_a_disruption_budget_keeps_one_api_pod(rendered) -> None:
    api_labels = pod_labels(one(rendered, "Deployment", "medic-api"))
    budgets = [o for o in rendered if o["kind"] == "PodDisruptionBudget"]
    assert any(
        b["spec"].get("minAvailable") == 1
        and selects(b["spec"]["selector"]["matchLabels"], api_labels)
        for b in budgets
    )
    others = [pod_labels(w) for w in workloads(rendered) if w["metadata"]["name"] != "medic-api"]
    for budget in budgets:
        assert not any(selects(budget["spec"]["selector"]["matchLabels"], o) for o in others)


def test_the_service_reaches_the_port_the_api_listens_on(rendered) -> None:
    api = one(rendered, "Deployment", "medic-api")
    service = one(rendered, "Service", "medic-api")
    assert selects(service["spec"]["selector"], pod_labels(api))
    others = [pod_labels(w) for w in workloads(rendered) if w["metadata"]["name"] != "medic-api"]
    assert not any(selects(service["spec"]["selector"], o) for o in others)
    (container,) = pod_spec(api)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    target = ports.get(port["targetPort"], port["targetPort"])
    assert target in ports.values()
    # The API listens on PORT: the ConfigMap's value, or Medic's default.
    listens = [
        int(config_maps(rendered)[ref["configMapRef"]["name"]].get("PORT", 8080))
        for ref in container["envFrom"]
        if "configMapRef" in ref
    ]
    assert listens == [target]


def test_secrets_come_only_from_a_secret_the_operator_creates(rendered) -> None:
    for secret in (o for o in rendered if o["kind"] == "Secret"):
        assert not secret.get("data") and not secret.get("stringData"), "no secret values here"
    for workload in workloads(rendered):
        for container in containers(pod_spec(workload)):
            where = f"{workload['metadata']['name']}/{container['name']}"
            secret_refs = [
                r["secretRef"]["name"] for r in container.get("envFrom", []) if "secretRef" in r
            ]
            assert secret_refs == ["medic"], f"{where} reads secrets from the Secret `medic`"
            for variable in container.get("env", []):
                if SECRET_LOOKING.search(variable["name"]):
                    assert "secretKeyRef" in variable.get("valueFrom", {}), (
                        f"{where}: {variable['name']} must come from a Secret"
                    )
    for name, data in config_maps(rendered).items():
        leaked = [key for key in data if SECRET_LOOKING.search(key)]
        assert not leaked, f"ConfigMap {name} carries secret-looking settings {leaked}"


def test_every_setting_is_one_medic_reads_and_a_valid_value(rendered) -> None:
    known = setting_names()
    maps = config_maps(rendered)
    for workload in workloads(rendered):
        for container in containers(pod_spec(workload)):
            where = f"{workload['metadata']['name']}/{container['name']}"
            names = {v["name"] for v in container.get("env", [])}
            for ref in container.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in maps, f"{where}: unknown ConfigMap"
                    names |= maps[ref["configMapRef"]["name"]].keys()
            assert names <= known, f"{where}: not Medic settings: {sorted(names - known)}"
    for data in maps.values():
        load_settings(**{key.lower(): value for key, value in data.items()})
