"""Grafana provisioning and dashboards, and the Kubernetes manifests, are valid and consistent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opsfiles import OPS, compose, load_all_yaml, load_yaml

from server.settings import VARIABLES, load_settings

GRAFANA = OPS / "grafana"
K8S = OPS / "k8s"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
MANIFESTS = sorted(K8S.rglob("*.yaml"))
KNOWN_SETTINGS = {v.name for v in VARIABLES}


def _datasource_uids() -> dict[str, str]:
    uids = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yml"):
        for ds in load_yaml(path)["datasources"]:
            uids[ds["uid"]] = ds["type"]
    return uids


def _docs() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS if path.name != "kustomization.yaml" for doc in load_all_yaml(path)]


def _find(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in _docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


# ------------------------------------------------------------------ Grafana


def test_datasources_point_at_compose_services() -> None:
    uids = _datasource_uids()
    assert uids.get("prometheus") == "prometheus" and uids.get("loki") == "loki"
    services = compose()["services"]
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yml"):
        for ds in load_yaml(path)["datasources"]:
            host = ds["url"].split("//")[1].split(":")[0]
            assert host in services, f"data source {ds['name']}: no compose service {host}"


def test_dashboard_provider_reads_the_mounted_directory() -> None:
    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")["providers"]
    mounts = [v.split(":") for v in compose()["services"]["grafana"]["volumes"]]
    assert ["./ops/grafana/dashboards", provider["options"]["path"], "ro"] in mounts


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid(path: Path) -> None:
    board = json.loads(path.read_text())
    assert board["title"] and board["uid"] and board["panels"]
    uids = _datasource_uids()
    for panel in board["panels"]:
        assert panel.get("title") and {"x", "y", "w", "h"} <= panel["gridPos"].keys(), panel
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in uids, f"{panel['title']}: unknown data source"
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            ds = target.get("datasource", panel["datasource"])
            assert uids.get(ds["uid"]) == ds["type"], f"{panel['title']}: data source {ds}"
            assert target["expr"].strip()


def test_dashboards_have_unique_uids_and_ids() -> None:
    boards = [json.loads(p.read_text()) for p in DASHBOARDS]
    assert len({b["uid"] for b in boards}) == len(boards)
    for board in boards:
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids), board["title"]


# ------------------------------------------------------------------ Kubernetes


def test_manifests_parse_and_are_named() -> None:
    assert MANIFESTS
    for doc in _docs():
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), doc


def test_kustomization_lists_existing_files_and_no_secret() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    kinds = {d["kind"] for r in kustomization["resources"] for d in load_all_yaml(K8S / r)}
    assert "Secret" not in kinds, "example secrets must not be applied by kustomize"
    expected = {"Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert expected <= kinds


def test_api_deployment() -> None:
    dep = _find("Deployment", "document-management-api")
    assert dep["spec"]["replicas"] == 3
    pod = dep["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["docman", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["DOCMAN_EMBEDDED_WORKERS"] == "0"
    port = str(container["ports"][0]["containerPort"])
    assert env["DOCMAN_PORT"] == port == pod["metadata"]["annotations"]["prometheus.io/port"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    data_dir = _find("ConfigMap", "docman-config")["data"]["DOCMAN_DATA_DIR"]
    assert "emptyDir" in volumes[mounts[data_dir]], "the index cache lives on an emptyDir"


def test_api_service_and_pdb_select_the_api_pods() -> None:
    labels = _find("Deployment", "document-management-api")["spec"]["template"]["metadata"]["labels"]
    service = _find("Service", "document-management-api")
    assert service["spec"]["selector"].items() <= labels.items()
    pdb = _find("PodDisruptionBudget", "document-management-api")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < 3


def test_worker_deployment_and_autoscaler() -> None:
    dep = _find("Deployment", "document-management-worker")
    assert dep["spec"]["replicas"] == 2
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["docman", "worker"]
    assert "readinessProbe" not in container and "livenessProbe" not in container, "workers serve no HTTP"
    hpa = _find("HorizontalPodAutoscaler", "document-management-worker")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "document-management-worker"}
    assert hpa["spec"]["minReplicas"] <= dep["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]


def test_settings_in_configmap_and_secret_load() -> None:
    config = _find("ConfigMap", "docman-config")["data"]
    secret = _find("Secret", "docman-secrets")["stringData"]
    api = _find("Deployment", "document-management-api")["spec"]["template"]["spec"]["containers"][0]
    env = {**config, **secret, **{e["name"]: e["value"] for e in api["env"]}}
    unknown = {k for k in env if k.startswith("DOCMAN_")} - KNOWN_SETTINGS
    assert not unknown, f"not DOCMAN_* settings of server/settings.py: {unknown}"
    assert set(env) == {k for k in env if k.startswith("DOCMAN_")}
    settings = load_settings(env)
    assert settings.database.url and settings.storage.backend == "s3"
    worker = _find("Deployment", "document-management-worker")["spec"]["template"]["spec"]["containers"][0]
    for container in (api, worker):
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == {"docman-config", "docman-secrets"}
